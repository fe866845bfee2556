"""Retention SQL: finished applications not yet purged, and wiping what identifies a person."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import Application, EventLog, Task, VendorBatchItem


def _purged_ids(municipality_code: str | None, action: str) -> Any:
    query = select(col(EventLog.entity_id)).where(
        col(EventLog.entity) == "application", col(EventLog.action) == action
    )
    if municipality_code is not None:
        query = query.where(col(EventLog.municipality_code) == municipality_code)
    return query


async def unpurged_page(
    session: AsyncSession,
    *,
    statuses: Collection[str],
    received_before: datetime,
    after: str,
    limit: int,
    purge_action: str,
    municipality_code: str | None = None,
) -> list[Application]:
    """Applications in ``statuses`` received by ``received_before`` whose purge is not in the
    event log, in id order after ``after``: one page of at most ``limit``."""
    query = (
        select(Application)
        .where(
            col(Application.status).in_(list(statuses)),
            col(Application.received_at) <= received_before,
            col(Application.id) > after,
            col(Application.id).not_in(_purged_ids(municipality_code, purge_action)),
        )
        .order_by(Application.id)
        .limit(limit)
    )
    if municipality_code is not None:
        query = query.where(col(Application.municipality_code) == municipality_code)
    return list((await session.scalars(query)).all())


async def has_task_data(session: AsyncSession, application_id: str) -> bool:
    """Whether a task of the application keeps what was keyed or a note."""
    found = await session.scalar(
        select(col(Task.id))
        .where(
            col(Task.application_id) == application_id,
            (col(Task.result).is_not(None)) | (col(Task.note).is_not(None)),
        )
        .limit(1)
    )
    return found is not None


async def has_vendor_payload(session: AsyncSession, application_id: str) -> bool:
    """Whether a vendor batch still holds a copy of the application's fields."""
    found = await session.scalar(
        select(col(VendorBatchItem.seq))
        .where(
            col(VendorBatchItem.application_id) == application_id,
            col(VendorBatchItem.payload) != "{}",
        )
        .limit(1)
    )
    return found is not None


async def wipe_copies(session: AsyncSession, application_id: str) -> None:
    """Tasks' keyed results and notes, and the vendor's copies, of the application."""
    await session.execute(
        update(Task)
        .where(col(Task.application_id) == application_id)
        .values(result=None, note=None, household_key="purged")
    )
    await session.execute(
        update(VendorBatchItem)
        .where(col(VendorBatchItem.application_id) == application_id)
        .values(payload="{}", result=None, result_sha256=None)
    )
