"""Reads of one application for its screen: the row and its event history."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import table_of
from app.storage.tables import Application, EventLog


async def find_application(session: AsyncSession, application_id: str) -> Application | None:
    return await session.get(Application, application_id)


async def history(session: AsyncSession, application_id: str) -> list[dict[str, Any]]:
    """The application's event-log rows in the order they were written."""
    rows = (
        (
            await session.execute(
                table_of(EventLog)
                .select()
                .where(
                    col(EventLog.entity) == "application",
                    col(EventLog.entity_id) == application_id,
                )
                .order_by(col(EventLog.id))
            )
        )
        .mappings()
        .all()
    )
    return [dict(row) for row in rows]
