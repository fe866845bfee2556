"""The first answer of a command sent with an Idempotency-Key, kept for its retries."""

from dataclasses import dataclass
from typing import Any

from app.domain.roles import Principal
from app.services.uow import UnitOfWork
from app.storage import idempotency as idempotency_store


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: dict[str, Any] | None


async def find_answer(uow: UnitOfWork, principal: Principal, key: str) -> StoredAnswer | None:
    record = await idempotency_store.find_record(uow.session, principal.token_id, key)
    if record is None:
        return None
    return StoredAnswer(record.request_hash, record.status_code, record.body)


def keep_answer(
    uow: UnitOfWork,
    principal: Principal,
    key: str,
    request_hash: str,
    status: int,
    body: dict[str, Any],
) -> None:
    """Stored in the command's transaction: the answer exists exactly when the command does."""
    idempotency_store.add_record(
        uow.session,
        municipality_code=principal.municipality_code,
        token_id=principal.token_id,
        key=key,
        request_hash=request_hash,
        status_code=status,
        body=body,
        created_at=uow.now(),
    )
