"""Appointments: hours, slots and bookings. A booking takes a seat with one conditional UPDATE
of its slot row (``booked = booked + 1 WHERE booked < seats``), so no slot is ever overbooked:
on PostgreSQL the UPDATE locks the row and a concurrent booking waiting on that lock re-checks
``booked < seats`` against the committed row (READ COMMITTED re-evaluates the WHERE of an
UPDATE on the newest row version); on SQLite writers are serialised. The table's CHECK
(``booked <= seats``) refuses any statement that would overbook all the same."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import dialect_name, new_id, rows_matched, table_of
from app.storage.tables import Appointment, AppointmentHoursRow, AppointmentSlot, TicketCategory

_slot = table_of(AppointmentSlot)


async def get_hours(session: AsyncSession, category_id: str) -> AppointmentHoursRow | None:
    return await session.get(AppointmentHoursRow, category_id)


async def bookable_categories(
    session: AsyncSession, office_id: str
) -> list[tuple[TicketCategory, AppointmentHoursRow]]:
    """The office's active categories that take appointments, with their hours, by prefix."""
    rows = await session.execute(
        select(TicketCategory, AppointmentHoursRow)
        .join(AppointmentHoursRow, col(AppointmentHoursRow.category_id) == col(TicketCategory.id))
        .where(col(TicketCategory.office_id) == office_id, col(TicketCategory.is_active))
        .order_by(col(TicketCategory.prefix))
    )
    return [(category, hours) for category, hours in rows]


async def put_hours(session: AsyncSession, row: AppointmentHoursRow) -> AppointmentHoursRow:
    return await session.merge(row)


async def taken_seats(
    session: AsyncSession, category_id: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Seats booked per slot start of the category in ``[start, end)``."""
    rows = await session.execute(
        select(col(AppointmentSlot.starts_at), col(AppointmentSlot.booked)).where(
            col(AppointmentSlot.category_id) == category_id,
            col(AppointmentSlot.starts_at) >= start,
            col(AppointmentSlot.starts_at) < end,
        )
    )
    return {starts_at: int(booked) for starts_at, booked in rows}


async def take_seat(
    session: AsyncSession,
    *,
    municipality_code: str,
    office_id: str,
    category_id: str,
    starts_at: datetime,
    seats: int,
) -> str | None:
    """Take one seat of the slot (made if it is new): its id, or None when it is full."""
    values: dict[str, Any] = {
        "id": new_id(),
        "municipality_code": municipality_code,
        "office_id": office_id,
        "category_id": category_id,
        "starts_at": starts_at,
        "seats": seats,
        "booked": 0,
    }
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    await session.execute(
        insert(_slot)
        .values(values)
        .on_conflict_do_nothing(index_elements=["category_id", "starts_at"])
    )
    taken = await session.execute(
        update(_slot)
        .where(
            _slot.c.category_id == category_id,
            _slot.c.starts_at == starts_at,
            _slot.c.booked < _slot.c.seats,
        )
        .values(booked=_slot.c.booked + 1)
        .returning(_slot.c.id)
    )
    row = taken.first()
    return None if row is None else str(row[0])


async def give_back_seat(session: AsyncSession, slot_id: str) -> None:
    result = await session.execute(
        update(_slot)
        .where(_slot.c.id == slot_id, _slot.c.booked > 0)
        .values(booked=_slot.c.booked - 1)
    )
    assert rows_matched(result) == 1, "a booked slot has a seat to give back"


def add(session: AsyncSession, appointment: Appointment) -> None:
    session.add(appointment)


async def lock_by_code(
    session: AsyncSession,
    code_hash: str,
    municipality_code: str | None = None,
    *,
    lock: bool = True,
) -> Appointment | None:
    """The booking of a code (of the municipality, when given), locked unless ``lock`` is
    False."""
    statement = select(Appointment).where(col(Appointment.code_hash) == code_hash)
    if municipality_code is not None:
        statement = statement.where(col(Appointment.municipality_code) == municipality_code)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def list_for_day(
    session: AsyncSession, office_id: str, start: datetime, end: datetime
) -> list[Appointment]:
    statement = (
        select(Appointment)
        .where(
            col(Appointment.office_id) == office_id,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
        )
        .order_by(col(Appointment.starts_at), col(Appointment.created_at))
    )
    return list((await session.execute(statement)).scalars())


async def count_booked(session: AsyncSession, category_id: str, starts_at: datetime) -> int:
    """Live bookings of a slot, counted from the bookings themselves (tests compare)."""
    statement = select(func.count()).where(
        col(Appointment.category_id) == category_id,
        col(Appointment.starts_at) == starts_at,
        col(Appointment.status) != "cancelled",
    )
    return int((await session.execute(statement)).scalar_one())


async def forget_contacts_before(session: AsyncSession, moment: datetime) -> int:
    """Clear the contact of bookings whose slot began before ``moment``."""
    result = await session.execute(
        update(Appointment)
        .where(col(Appointment.starts_at) < moment, col(Appointment.contact).is_not(None))
        .values(contact=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
