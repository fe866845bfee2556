"""What the day's statistics (窓口統計) read: each ticket's times with its category's prefix,
its counter's label and its staff transfers (event log); each finished stop of a plan (a move
on to its next stop); and each booking of the day."""

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.estimates import EstimateFacts
from app.domain.lobby_stats import AppointmentFacts, TicketFacts
from app.domain.tickets import TicketStatus
from app.storage.tables import Appointment, Counter, EventLog, Ticket, TicketCategory, TicketStop


async def tickets_of_day(
    session: AsyncSession, municipality_code: str, day: date, office_id: str | None
) -> list[TicketFacts]:
    transfers = (
        select(func.count())
        .where(
            col(EventLog.entity) == "ticket",
            col(EventLog.entity_id) == col(Ticket.id),
            col(EventLog.action) == "transfer",
        )
        .scalar_subquery()
    )
    # A ticket of a plan waited at its current stop since the previous stop finished.
    arrived = func.coalesce(
        select(func.max(col(TicketStop.finished_at)))
        .where(col(TicketStop.ticket_id) == col(Ticket.id))
        .scalar_subquery(),
        col(Ticket.issued_at),
    )
    statement = (
        select(
            col(Ticket.office_id),
            col(Ticket.category_id),
            col(TicketCategory.prefix),
            col(Counter.label),
            col(Ticket.status),
            arrived,
            col(Ticket.called_at),
            col(Ticket.started_at),
            col(Ticket.finished_at),
            transfers,
            col(Ticket.estimate_error_s),
        )
        .join(TicketCategory, col(TicketCategory.id) == col(Ticket.category_id))
        .outerjoin(Counter, col(Counter.id) == col(Ticket.counter_id))
        .where(
            col(Ticket.municipality_code) == municipality_code,
            col(Ticket.business_day) == day,
        )
    )
    if office_id is not None:
        statement = statement.where(col(Ticket.office_id) == office_id)
    facts = [TicketFacts(*row) for row in (await session.execute(statement)).all()]
    return facts + await stops_of_day(session, municipality_code, day, office_id)


async def stops_of_day(
    session: AsyncSession, municipality_code: str, day: date, office_id: str | None
) -> list[TicketFacts]:
    """Each finished stop of a plan before the last, as a served visit of its category."""
    statement = (
        select(
            col(TicketStop.office_id),
            col(TicketStop.category_id),
            col(TicketCategory.prefix),
            col(Counter.label),
            col(TicketStop.arrived_at),
            col(TicketStop.called_at),
            col(TicketStop.started_at),
            col(TicketStop.finished_at),
        )
        .join(TicketCategory, col(TicketCategory.id) == col(TicketStop.category_id))
        .outerjoin(Counter, col(Counter.id) == col(TicketStop.counter_id))
        .where(
            col(TicketStop.municipality_code) == municipality_code,
            col(TicketStop.business_day) == day,
        )
    )
    if office_id is not None:
        statement = statement.where(col(TicketStop.office_id) == office_id)
    return [
        TicketFacts(
            office,
            category,
            prefix,
            label,
            TicketStatus.DONE,
            arrived,
            called_at=called,
            started_at=started,
            finished_at=finished,
            # Each stop finished before the last sent the ticket on to its next stop.
            next_stops=1,
        )
        for office, category, prefix, label, arrived, called, started, finished in (
            await session.execute(statement)
        ).all()
    ]


async def appointments_of_day(
    session: AsyncSession,
    municipality_code: str,
    start: datetime,
    end: datetime,
    office_id: str | None,
) -> list[AppointmentFacts]:
    statement = (
        select(
            col(Appointment.office_id),
            col(Appointment.category_id),
            col(TicketCategory.prefix),
            col(Counter.label),
            col(Appointment.status),
            col(Appointment.starts_at),
        )
        .join(TicketCategory, col(TicketCategory.id) == col(Appointment.category_id))
        .outerjoin(Ticket, col(Ticket.id) == col(Appointment.ticket_id))
        .outerjoin(Counter, col(Counter.id) == col(Ticket.counter_id))
        .where(
            col(Appointment.municipality_code) == municipality_code,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
        )
    )
    if office_id is not None:
        statement = statement.where(col(Appointment.office_id) == office_id)
    return [AppointmentFacts(*row) for row in (await session.execute(statement)).all()]


async def estimates_of_day(
    session: AsyncSession, municipality_code: str, day: date, office_id: str | None
) -> list[EstimateFacts]:
    """The day's tickets called at least once whose models' estimates were recorded at issue."""
    statement = (
        select(
            col(Ticket.office_id),
            col(TicketCategory.prefix),
            col(Ticket.issued_at),
            col(Ticket.estimate_min),
            col(Ticket.estimate_error_s),
            col(Ticket.estimates),
        )
        .join(TicketCategory, col(TicketCategory.id) == col(Ticket.numbered_category_id))
        .where(
            col(Ticket.municipality_code) == municipality_code,
            col(Ticket.business_day) == day,
            col(Ticket.estimate_min).is_not(None),
            col(Ticket.estimate_error_s).is_not(None),
        )
    )
    if office_id is not None:
        statement = statement.where(col(Ticket.office_id) == office_id)
    return [
        EstimateFacts(office, prefix, issued, shown, error, shadow)
        for office, prefix, issued, shown, error, shadow in (await session.execute(statement)).all()
        if shadow and shown is not None and error is not None
    ]
