"""Idempotency-Key: a retried command returns its first result; a reused key with a new body is
409."""

import hashlib
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.domain.errors import IdempotencyMismatch
from app.domain.roles import Principal
from app.services.idempotency import find_answer, keep_answer
from app.services.uow import UnitOfWork

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
    existing = await find_answer(uow, principal, key)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyMismatch(
                "この Idempotency-Key は別の内容で使われています "
                "(key already used for another request)"
            )
        return JSONResponse(
            existing.body, status_code=existing.status_code, headers={"Idempotent-Replayed": "true"}
        )
    status, payload = await run()
    keep_answer(uow, principal, key, request_hash, status, payload)
    return JSONResponse(payload, status_code=status)
