"""Readiness and the queue figures the operations team scrapes."""

from datetime import date, datetime
from typing import NamedTuple

from app.storage import ops as ops_store
from app.storage.engines import Engine, Sessionmaker
from app.storage.migrations import head_revision


class SchemaState(NamedTuple):
    revision: str | None
    head: str | None


class TaskFigures(NamedTuple):
    municipality_code: str
    procedure: str
    kind: str
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, on purpose
    leased: int | None
    oldest: datetime | None
    due_today: int | None
    overdue: int | None


class TicketFigures(NamedTuple):
    municipality_code: str
    office_id: str
    prefix: str
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, on purpose
    oldest: datetime | None


async def schema_state(engine: Engine) -> SchemaState:
    """Where the database's schema is and where it should be; raises when it cannot be reached."""
    revision = await ops_store.database_revision(engine)
    return SchemaState(revision, head_revision())


async def queue_figures(
    sessionmaker: Sessionmaker, today: date
) -> tuple[list[TaskFigures], list[TicketFigures]]:
    tasks, tickets = await ops_store.queue_figures(sessionmaker, today)
    return [TaskFigures(*row) for row in tasks], [TicketFigures(*row) for row in tickets]
