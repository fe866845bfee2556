"""Idempotency-Key: a retried command returns its first result; a reused key with a new body is 409."""

import hashlib
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from app.domain.errors import IdempotencyMismatch
from app.domain.roles import Principal
from app.services.uow import UnitOfWork
from app.storage.tables import IdempotencyRecord

Command = Callable[[], Awaitable[tuple[int, dict[str, object]]]]


async def idempotent(
    uow: UnitOfWork,
    principal: Principal,
    key: str | None,
    scope: str,
    body: BaseModel | bytes,
    run: Command,
) -> JSONResponse:
    """Run ``run`` once per (caller, key); the stored result is written in the same transaction."""
    if key is None:
        status, payload = await run()
        return JSONResponse(payload, status_code=status)
    raw = body if isinstance(body, bytes) else body.model_dump_json().encode()
    request_hash = hashlib.sha256(scope.encode() + b"\0" + raw).hexdigest()
    existing = (
        await uow.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.token_id == principal.token_id, IdempotencyRecord.key == key
            )
        )
    ).scalars().first()
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyMismatch(
                "この Idempotency-Key は別の内容で使われています (key already used for another request)"
            )
        return JSONResponse(
            existing.body, status_code=existing.status_code, headers={"Idempotent-Replayed": "true"}
        )
    status, payload = await run()
    uow.session.add(
        IdempotencyRecord(
            municipality_code=principal.municipality_code,
            token_id=principal.token_id,
            key=key,
            request_hash=request_hash,
            status_code=status,
            body=payload,
            created_at=uow.now(),
        )
    )
    return JSONResponse(payload, status_code=status)
