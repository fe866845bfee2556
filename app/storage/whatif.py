"""The event log's record of how long each step took: from the last claim to completion."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import TaskStatus
from app.storage.tables import Application, EventLog, Task


class StepTime(NamedTuple):
    procedure: str
    kind: str
    claimed_at: datetime
    completed_at: datetime


async def step_times(
    session: AsyncSession, municipality_code: str, since: datetime
) -> list[StepTime]:
    """Every task done since ``since``, with its last claim before completion."""
    claimed = func.max(col(EventLog.at))
    statement = (
        select(col(Task.procedure), col(Task.kind), claimed, col(Task.completed_at))
        .join(
            EventLog,
            and_(
                col(EventLog.entity) == "task",
                col(EventLog.entity_id) == col(Task.id),
                col(EventLog.action) == "claim",
                col(EventLog.municipality_code) == col(Task.municipality_code),
                col(EventLog.at) <= col(Task.completed_at),
            ),
        )
        .where(
            col(Task.municipality_code) == municipality_code,
            col(Task.status) == TaskStatus.DONE,
            col(Task.completed_at) >= since,
        )
        .group_by(col(Task.id), col(Task.procedure), col(Task.kind), col(Task.completed_at))
    )
    rows = await session.execute(statement)
    return [StepTime(p, k, c, d) for p, k, c, d in rows.all() if c is not None and d is not None]


class ReceivedRow(NamedTuple):
    procedure: str
    channel: str
    received_at: datetime


async def received(
    session: AsyncSession, municipality_code: str, since: datetime, until: datetime
) -> list[ReceivedRow]:
    """Every application the municipality received in [since, until)."""
    statement = select(
        col(Application.procedure), col(Application.channel), col(Application.received_at)
    ).where(
        col(Application.municipality_code) == municipality_code,
        col(Application.received_at) >= since,
        col(Application.received_at) < until,
    )
    rows = await session.execute(statement)
    return [ReceivedRow(p, c, r) for p, c, r in rows.all()]
