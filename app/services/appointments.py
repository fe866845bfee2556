"""来庁予約: hours per office and category, free slots, booking (public or by staff), moving and
cancelling by confirmation code, and check-in at the kiosk (a ticket merged with walk-ins)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.appointments import (
    CODE_ALPHABET,
    CODE_LENGTH,
    AppointmentHours,
    AppointmentStatus,
    check_hours,
    check_initial,
    check_slot,
    code_hash,
    day_slots,
    format_code,
    read_code,
)
from app.domain.clock import business_day
from app.domain.deadlines import Calendar
from app.domain.errors import Conflict, InvalidInput, NotFound, SlotFull
from app.domain.roles import Principal
from app.services import tickets as ticket_service
from app.storage import appointments as store
from app.storage.tables import Appointment, AppointmentHoursRow, Office, TicketCategory
from app.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    seats: int
    free: int


@dataclass(frozen=True)
class Booked:
    """A booking and, when just made, its confirmation code (shown this once)."""

    appointment: Appointment
    code: str | None = None


def _zone(uow: UnitOfWork) -> ZoneInfo:
    return ZoneInfo(uow.settings.lobby.timezone)


def _hours_of(row: AppointmentHoursRow) -> AppointmentHours:
    return AppointmentHours(row.opens_at, row.closes_at, row.slot_minutes, row.seats)


async def _category(
    uow: UnitOfWork, office_id: str, category_id: str, municipality_code: str | None = None
) -> TicketCategory:
    category = await uow.get(TicketCategory, category_id)
    if (
        category is None
        or category.office_id != office_id
        or not category.is_active
        or (municipality_code is not None and category.municipality_code != municipality_code)
    ):
        raise NotFound("受付区分が見つかりません (no such category here)", category_id=category_id)
    return category


async def _bookable(
    uow: UnitOfWork, office_id: str, category_id: str, municipality_code: str | None = None
) -> tuple[TicketCategory, AppointmentHours]:
    category = await _category(uow, office_id, category_id, municipality_code)
    row = await store.get_hours(uow.session, category.id)
    if row is None:
        raise InvalidInput.field(
            "category_id",
            "no_appointments",
            "この区分は予約を受け付けていません (no appointments for this category)",
        )
    return category, _hours_of(row)


async def set_hours(
    uow: UnitOfWork,
    principal: Principal,
    *,
    office_id: str,
    category_id: str,
    hours: AppointmentHours,
) -> AppointmentHours:
    """Open (or change) a category's appointment hours. Slots already booked keep their seats."""
    office = await ticket_service.get_office(uow, principal, office_id)
    category = await _category(uow, office.id, category_id, principal.municipality_code)
    check_hours(hours)
    await store.put_hours(
        uow.session,
        AppointmentHoursRow(
            category_id=category.id,
            municipality_code=category.municipality_code,
            office_id=category.office_id,
            opens_at=hours.opens_at,
            closes_at=hours.closes_at,
            slot_minutes=hours.slot_minutes,
            seats=hours.seats,
            updated_at=uow.now(),
        ),
    )
    uow.log(
        entity="appointment_hours",
        entity_id=category.id,
        action="set",
        municipality_code=category.municipality_code,
        data={
            "opens_at": hours.opens_at.isoformat(),
            "closes_at": hours.closes_at.isoformat(),
            "slot_minutes": hours.slot_minutes,
            "seats": hours.seats,
        },
    )
    return hours


@dataclass(frozen=True)
class BookableCategory:
    category: TicketCategory
    hours: AppointmentHours


async def bookable(uow: UnitOfWork, office_id: str) -> tuple[Office, list[BookableCategory]]:
    """For the public booking page: the office and its categories that take appointments."""
    office = await uow.get(Office, office_id)
    if office is None:
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    rows = await store.bookable_categories(uow.session, office.id)
    return office, [BookableCategory(category, _hours_of(hours)) for category, hours in rows]


async def free_slots(uow: UnitOfWork, *, office_id: str, category_id: str, day: date) -> list[Slot]:
    """The day's slots of a category with their free seats (none on a closed day)."""
    _category_row, hours = await _bookable(uow, office_id, category_id)
    today = business_day(uow.now(), _zone(uow))
    if not today <= day <= today + timedelta(days=uow.settings.appointments.book_days_ahead):
        return []
    starts = day_slots(day, hours, Calendar(), _zone(uow))
    if not starts:
        return []
    taken = await store.taken_seats(
        uow.session, category_id, starts[0], starts[-1] + timedelta(seconds=1)
    )
    now = uow.now()
    return [
        Slot(start, hours.seats, max(0, hours.seats - taken.get(start, 0)))
        for start in starts
        if start > now
    ]


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_contact(contact: str | None) -> str | None:
    if contact is None or contact.strip() == "":
        return None
    if len(contact) > 200 or any(ord(c) < 32 for c in contact):
        raise InvalidInput.field(
            "contact", "invalid", "連絡先は200文字以内です (contact: up to 200 characters)"
        )
    return contact


async def _take(
    uow: UnitOfWork, category: TicketCategory, hours: AppointmentHours, starts_at: datetime
) -> tuple[str, datetime]:
    rules = uow.settings.appointments
    wanted = check_slot(starts_at, hours, Calendar(), uow.now(), rules.book_days_ahead, _zone(uow))
    slot_id = await store.take_seat(
        uow.session,
        municipality_code=category.municipality_code,
        office_id=category.office_id,
        category_id=category.id,
        starts_at=wanted,
        seats=hours.seats,
    )
    if slot_id is None:
        raise SlotFull(
            "この枠は満員です。別の時間を選んでください (this slot is full: choose another)",
            starts_at=wanted.isoformat(),
        )
    return slot_id, wanted


async def book(
    uow: UnitOfWork,
    *,
    office_id: str,
    category_id: str,
    starts_at: datetime,
    initial: str,
    contact: str | None,
    principal: Principal | None = None,
) -> Booked:
    """Book a seat of a slot: by the resident (``principal`` None) or by staff for them."""
    if principal is not None:
        await ticket_service.get_office(uow, principal, office_id)
    initial = check_initial(initial)
    contact = _check_contact(contact)
    category, hours = await _bookable(
        uow, office_id, category_id, principal.municipality_code if principal else None
    )
    slot_id, wanted = await _take(uow, category, hours, starts_at)
    code = _new_code()
    now = uow.now()
    appointment = Appointment(
        municipality_code=category.municipality_code,
        office_id=category.office_id,
        category_id=category.id,
        slot_id=slot_id,
        starts_at=wanted,
        code_hash=code_hash(code),
        initial=initial,
        contact=contact,
        status=AppointmentStatus.BOOKED,
        booked_by="staff" if principal else "public",
        created_at=now,
        updated_at=now,
    )
    store.add(uow.session, appointment)
    await uow.flush()
    uow.log(
        entity="appointment",
        entity_id=appointment.id,
        action="book",
        municipality_code=appointment.municipality_code,
        to_status=appointment.status,
        data={"starts_at": wanted.isoformat(), "booked_by": appointment.booked_by},
    )
    return Booked(appointment, format_code(code))


async def _locked(uow: UnitOfWork, code: str, municipality_code: str | None = None) -> Appointment:
    raw = read_code(code)
    found = None
    if raw is not None:
        found = await store.lock_by_code(uow.session, code_hash(raw), municipality_code)
    if found is None:
        raise NotFound("予約が見つかりません (no such appointment)")
    return found


def _must_be_booked(appointment: Appointment) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            "この予約は変更できません (this appointment can no longer be changed)",
            status=appointment.status,
        )


async def find(uow: UnitOfWork, code: str) -> Appointment:
    raw = read_code(code)
    found = None
    if raw is not None:
        found = await store.lock_by_code(uow.session, code_hash(raw), lock=False)
    if found is None:
        raise NotFound("予約が見つかりません (no such appointment)")
    return found


async def move(uow: UnitOfWork, *, code: str, starts_at: datetime) -> Appointment:
    """Move a booking to another slot of its category: the new seat first, then the old one
    given back, in one transaction (a full slot leaves the booking where it was)."""
    appointment = await _locked(uow, code)
    _must_be_booked(appointment)
    category, hours = await _bookable(uow, appointment.office_id, appointment.category_id)
    if starts_at == appointment.starts_at:
        return appointment
    slot_id, wanted = await _take(uow, category, hours, starts_at)
    await store.give_back_seat(uow.session, appointment.slot_id)
    before = appointment.starts_at
    appointment.slot_id = slot_id
    appointment.starts_at = wanted
    appointment.updated_at = uow.now()
    uow.log(
        entity="appointment",
        entity_id=appointment.id,
        action="move",
        municipality_code=appointment.municipality_code,
        data={"from": before.isoformat(), "to": wanted.isoformat()},
    )
    return appointment


async def cancel(uow: UnitOfWork, *, code: str) -> Appointment:
    appointment = await _locked(uow, code)
    _must_be_booked(appointment)
    await store.give_back_seat(uow.session, appointment.slot_id)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.updated_at = uow.now()
    # Nothing about the resident is kept once the booking is cancelled.
    appointment.contact = None
    uow.log(
        entity="appointment",
        entity_id=appointment.id,
        action="cancel",
        municipality_code=appointment.municipality_code,
        to_status=appointment.status,
    )
    return appointment


async def list_day(
    uow: UnitOfWork, principal: Principal, *, office_id: str, day: date | None
) -> list[Appointment]:
    """The office's bookings of ``day`` (today when None), by slot."""
    office = await ticket_service.get_office(uow, principal, office_id)
    zone = _zone(uow)
    day = day or business_day(uow.now(), zone)
    try:
        start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
        end = start + timedelta(days=1)
    except OverflowError:  # year 1 or 9999: no bookings there
        return []
    return await store.list_for_day(uow.session, office.id, start, end)


async def check_in(
    uow: UnitOfWork, principal: Principal, *, office_id: str, code: str, language: str
) -> ticket_service.TicketView:
    """At the kiosk: today's booking of this office becomes a ticket whose call order is the
    merge rule's (app/domain/tickets.py ``next_to_call``)."""
    office = await ticket_service.get_office(uow, principal, office_id)
    if read_code(code) is None:
        raise InvalidInput.field(
            "code", "malformed", "予約番号を読み取れません (not a confirmation code)"
        )
    appointment = await _locked(uow, code, principal.municipality_code)
    if appointment.office_id != office.id:
        raise NotFound("予約が見つかりません (no such appointment)")
    _must_be_booked(appointment)
    zone = _zone(uow)
    if business_day(appointment.starts_at, zone) != business_day(uow.now(), zone):
        raise Conflict(
            "本日の予約ではありません (this appointment is not for today)",
            starts_at=appointment.starts_at.isoformat(),
        )
    view = await ticket_service.issue_ticket(
        uow,
        principal,
        office_id=office.id,
        category_id=appointment.category_id,
        is_priority=False,
        language=language,
        appointment=(appointment.id, appointment.starts_at),
    )
    appointment.status = AppointmentStatus.CHECKED_IN
    # The resident is here: the contact they left has served its purpose.
    appointment.contact = None
    appointment.checked_in_at = uow.now()
    appointment.ticket_id = view.ticket.id
    appointment.updated_at = uow.now()
    uow.log(
        entity="appointment",
        entity_id=appointment.id,
        action="check_in",
        municipality_code=appointment.municipality_code,
        to_status=appointment.status,
        data={"ticket_id": view.ticket.id, "number": view.ticket.number},
    )
    return view
