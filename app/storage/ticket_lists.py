"""The tickets a screen lists: at the counters, waiting, parked (held or absent)."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.tickets import TicketStatus
from app.storage.tables import Ticket
from app.storage.tickets import CALL_ORDER_COLUMNS


async def list_at_counters(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[Ticket]:
    statement = (
        select(Ticket)
        .where(
            col(Ticket.office_id) == office_id,
            col(Ticket.business_day) == business_day,
            col(Ticket.status).in_([TicketStatus.CALLED, TicketStatus.SERVING]),
        )
        .order_by(col(Ticket.called_at).desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def list_waiting(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[Ticket]:
    statement = (
        select(Ticket)
        .where(
            col(Ticket.office_id) == office_id,
            col(Ticket.business_day) == business_day,
            col(Ticket.status) == TicketStatus.WAITING,
        )
        .order_by(*CALL_ORDER_COLUMNS)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


_PARKED = [TicketStatus.HELD, TicketStatus.NO_SHOW]


async def list_parked(
    session: AsyncSession, office_id: str, business_day: date, *, limit: int
) -> list[Ticket]:
    """Today's held and no-show tickets of the office, most recently called first: what a
    counter may resume or recall."""
    statement = (
        select(Ticket)
        .where(
            col(Ticket.office_id) == office_id,
            col(Ticket.business_day) == business_day,
            col(Ticket.status).in_(_PARKED),
        )
        .order_by(col(Ticket.called_at).desc(), col(Ticket.id))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())
