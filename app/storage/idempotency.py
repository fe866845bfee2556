"""Stored answers of commands sent with an Idempotency-Key."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import IdempotencyRecord


async def find_record(session: AsyncSession, token_id: str, key: str) -> IdempotencyRecord | None:
    return (
        (
            await session.execute(
                select(IdempotencyRecord).where(
                    col(IdempotencyRecord.token_id) == token_id, col(IdempotencyRecord.key) == key
                )
            )
        )
        .scalars()
        .first()
    )


def add_record(
    session: AsyncSession,
    *,
    municipality_code: str,
    token_id: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: dict[str, Any],
    created_at: datetime,
) -> None:
    """Kept in the session: written with the command's own rows, in its transaction."""
    session.add(
        IdempotencyRecord(
            municipality_code=municipality_code,
            token_id=token_id,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            created_at=created_at,
        )
    )
