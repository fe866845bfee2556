"""Ticket queries: daily numbering, the next ticket for a counter, queue depth and service times."""

from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.tickets import TicketStatus
from app.storage.tables import Counter, CounterCategory, Ticket, TicketSequence


async def allocate_sequence(
    session: AsyncSession, *, municipality_code: str, category_id: str, business_day: date
) -> int:
    """The next number of a category's day, in one atomic statement (row-locked upsert)."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(TicketSequence).values(
        category_id=category_id,
        business_day=business_day,
        municipality_code=municipality_code,
        last_value=1,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["category_id", "business_day"],
        set_={"last_value": TicketSequence.last_value + 1},
    ).returning(TicketSequence.last_value)
    return int((await session.execute(statement)).scalar_one())


async def claim_next_for_counter(
    session: AsyncSession, *, counter: Counter, business_day: date
) -> Ticket | None:
    """Lock the ticket this counter should call: priority first, then the longest waiting.

    Tickets another counter is calling at this instant are skipped (SKIP LOCKED), so two
    counters pressing 'next' together never get the same resident. Only tickets sent to this
    counter, or of categories it serves and not sent elsewhere, are considered.
    """
    served = select(CounterCategory.category_id).where(CounterCategory.counter_id == counter.id)
    statement = (
        select(Ticket)
        .where(
            Ticket.office_id == counter.office_id,
            Ticket.business_day == business_day,
            Ticket.status == TicketStatus.WAITING,
            or_(
                Ticket.target_counter_id == counter.id,
                and_(
                    Ticket.target_counter_id.is_(None),  # type: ignore[union-attr]
                    Ticket.category_id.in_(served),  # type: ignore[attr-defined]
                ),
            ),
        )
        .order_by(
            Ticket.is_priority.desc(),  # type: ignore[attr-defined]
            Ticket.queued_at,
            Ticket.id,
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().first()


async def lock_ticket(session: AsyncSession, ticket_id: str, municipality_code: str) -> Ticket | None:
    statement = (
        select(Ticket)
        .where(Ticket.id == ticket_id, Ticket.municipality_code == municipality_code)
        .with_for_update()
    )
    return (await session.execute(statement)).scalars().first()


async def count_ahead(session: AsyncSession, ticket: Ticket) -> int:
    """Waiting tickets of the same category that will be called before this one."""
    earlier = or_(
        Ticket.queued_at < ticket.queued_at,
        and_(Ticket.queued_at == ticket.queued_at, Ticket.id < ticket.id),
    )
    # Priority tickets are all ahead of a plain one; among equals, the earlier queued.
    before = (
        and_(Ticket.is_priority.is_(True), earlier)  # type: ignore[attr-defined]
        if ticket.is_priority
        else or_(Ticket.is_priority.is_(True), earlier)  # type: ignore[attr-defined]
    )
    statement = select(func.count()).where(
        Ticket.office_id == ticket.office_id,
        Ticket.business_day == ticket.business_day,
        Ticket.category_id == ticket.category_id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.target_counter_id.is_(None),  # type: ignore[union-attr]
        Ticket.id != ticket.id,
        before,
    )
    return int((await session.execute(statement)).scalar_one())


async def waiting_counts(
    session: AsyncSession, office_id: str, business_day: date
) -> dict[str, int]:
    rows = await session.execute(
        select(Ticket.category_id, func.count())
        .where(
            Ticket.office_id == office_id,
            Ticket.business_day == business_day,
            Ticket.status == TicketStatus.WAITING,
        )
        .group_by(Ticket.category_id)
    )
    return {category_id: int(n) for category_id, n in rows}


async def recent_service_seconds(
    session: AsyncSession, category_id: str, *, limit: int
) -> list[float]:
    rows = await session.execute(
        select(Ticket.started_at, Ticket.finished_at)
        .where(
            Ticket.category_id == category_id,
            Ticket.status == TicketStatus.DONE,
            Ticket.started_at.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(Ticket.finished_at.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [(finished - started).total_seconds() for started, finished in rows if finished]


async def counters_serving(session: AsyncSession, category_id: str) -> int:
    statement = (
        select(func.count())
        .select_from(CounterCategory)
        .join(Counter, Counter.id == CounterCategory.counter_id)  # type: ignore[arg-type]
        .where(CounterCategory.category_id == category_id, Counter.is_active.is_(True))  # type: ignore[attr-defined]
    )
    return int((await session.execute(statement)).scalar_one())


async def list_at_counters(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[Ticket]:
    statement = (
        select(Ticket)
        .where(
            Ticket.office_id == office_id,
            Ticket.business_day == business_day,
            Ticket.status.in_([TicketStatus.CALLED, TicketStatus.SERVING]),  # type: ignore[attr-defined]
        )
        .order_by(Ticket.called_at.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def list_waiting(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[Ticket]:
    statement = (
        select(Ticket)
        .where(
            Ticket.office_id == office_id,
            Ticket.business_day == business_day,
            Ticket.status == TicketStatus.WAITING,
        )
        .order_by(Ticket.is_priority.desc(), Ticket.queued_at, Ticket.id)  # type: ignore[attr-defined]
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())
