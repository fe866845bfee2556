"""What the wait estimates read and write apart from the queue figures: a category's recent
service times and counters (the status page's estimate), and each model's estimate at issue."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.tickets import TicketStatus
from app.storage.db import table_of
from app.storage.tables import Counter, CounterCategory, Ticket, TicketStop

_ticket = table_of(Ticket)
_stop = table_of(TicketStop)


async def recent_service_seconds(
    session: AsyncSession, category_id: str, *, limit: int
) -> list[float]:
    """The category's newest ``limit`` service times, of finished tickets and of finished stops
    of plans (``ticket_stop``) together."""
    times: list[tuple[datetime, float]] = []
    for table, where in (
        (_ticket, [_ticket.c.status == TicketStatus.DONE.value]),
        (_stop, []),
    ):
        rows = await session.execute(
            select(table.c.started_at, table.c.finished_at)
            .where(table.c.category_id == category_id, table.c.started_at.is_not(None), *where)
            .order_by(table.c.finished_at.desc())
            .limit(limit)
        )
        times += [
            (finished, (finished - started).total_seconds())
            for started, finished in rows
            if started and finished
        ]
    return [seconds for _finished, seconds in sorted(times, key=lambda t: t[0], reverse=True)][
        :limit
    ]


async def counters_serving(session: AsyncSession, category_id: str) -> tuple[int, int]:
    """Active counters serving the category, and of those the ones not paused."""
    statement = (
        select(func.count(), func.count().filter(col(Counter.paused).is_(False)))
        .select_from(CounterCategory)
        .join(Counter, col(Counter.id) == col(CounterCategory.counter_id))
        .where(col(CounterCategory.category_id) == category_id, col(Counter.is_active).is_(True))
    )
    configured, open_ = (await session.execute(statement)).one()
    return int(configured), int(open_)


async def record_estimate(
    session: AsyncSession, ticket_id: str, estimate_min: int, estimates: dict[str, int]
) -> None:
    """Keep the wait a new ticket was shown (its error is kept at the first call) and each
    model's estimate beside it."""
    await session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id)
        .values(estimate_min=estimate_min, estimates=estimates)
    )
