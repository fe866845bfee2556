"""The rows the access reports read (DOMAIN.md §7.12): access-log and failed sign-in rows."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.access_reports import Access
from app.storage.db import table_of
from app.storage.tables import AccessLog, EventLog

CHUNK_ROWS = 1000


def _access(row: Any) -> Access:
    detail = row.detail or {}
    terminal = detail.get("terminal") if isinstance(detail, dict) else None
    return Access(
        at=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        terminal=terminal if isinstance(terminal, str) else None,
        my_number_shown=bool(row.my_number_shown),
    )


async def accesses(
    session: AsyncSession,
    municipality_code: str,
    start: datetime,
    end: datetime,
    *,
    actions: Sequence[str] | None = None,
    by_person: bool = False,
) -> AsyncIterator[Access]:
    """Access-log rows with ``start <= at < end``, in time order (``by_person``: person first),
    read a chunk at a time so a long period never sits in memory at once."""
    table = table_of(AccessLog)
    query = select(
        table.c.id,
        table.c.at,
        table.c.actor_id,
        table.c.actor_role,
        table.c.action,
        table.c.entity,
        table.c.entity_id,
        table.c.my_number_shown,
        table.c.detail,
    ).where(table.c.municipality_code == municipality_code, table.c.at >= start, table.c.at < end)
    if actions is not None:
        query = query.where(table.c.action.in_(actions))
    order = (table.c.actor_id, table.c.at, table.c.id) if by_person else (table.c.at, table.c.id)
    result = await session.stream(query.order_by(*order).execution_options(yield_per=CHUNK_ROWS))
    async for row in result:
        yield _access(row)


async def failed_sign_ins(
    session: AsyncSession, municipality_code: str, start: datetime, end: datetime, limit: int
) -> list[EventLog]:
    """Failed sign-ins with ``start <= at < end``, oldest first."""
    query = (
        select(EventLog)
        .where(
            col(EventLog.municipality_code) == municipality_code,
            col(EventLog.entity) == "staff",
            col(EventLog.action) == "login_failed",
            col(EventLog.at) >= start,
            col(EventLog.at) < end,
        )
        .order_by(col(EventLog.at), col(EventLog.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
