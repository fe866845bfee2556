"""来庁予約: residents book, move and cancel a slot without an account (confirmation code);
staff book for a resident; kiosks check a booking in; admins set each category's hours."""

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from app.api.deps import Caller, SettingsDep, UowDep
from app.api.lobby import issued_ticket_out
from app.api.qr import qr_svg
from app.api.schemas import AwareDatetime, IssuedTicketOut, TicketLanguage
from app.domain.appointments import AppointmentHours, format_code, read_code
from app.domain.bodies import Body
from app.domain.roles import Role
from app.services import appointments as service

router = APIRouter(tags=["appointments"])
Admin = Caller(Role.ADMIN)
Kiosk = Caller(Role.KIOSK, Role.COUNTER)
# City staff who book for a resident (by phone, at the counter) and see the day's bookings.
Booker = Caller(Role.COUNTER, Role.SUPERVISOR)
Code = Annotated[str, Field(min_length=1, max_length=32)]


class HoursIn(Body):
    opens_at: time = Field(description="Japan time, e.g. 09:00")
    closes_at: time = Field(description="Japan time, e.g. 16:00")
    slot_minutes: int = Field(ge=5, le=240)
    seats: int = Field(ge=1, le=50, description="Bookings per slot (counters for appointments)")


class HoursOut(BaseModel):
    opens_at: time
    closes_at: time
    slot_minutes: int
    seats: int


class SlotOut(BaseModel):
    starts_at: datetime
    seats: int
    free: int


class BookableCategoryOut(BaseModel):
    category_id: str
    prefix: str
    name_ja: str
    name_en: str
    opens_at: time
    closes_at: time
    slot_minutes: int


class BookableOut(BaseModel):
    office_id: str
    name_ja: str
    name_en: str
    categories: list[BookableCategoryOut]
    book_days_ahead: int = Field(description="How far ahead residents may book (days)")


class BookIn(Body):
    office_id: str = Field(min_length=1, max_length=64)
    category_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    initial: str = Field(min_length=1, max_length=4, description="One letter: a name's initial")
    contact: str | None = Field(
        None, max_length=200, description="Optional: an e-mail address or phone number"
    )


class StaffBookIn(Body):
    category_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    initial: str = Field(min_length=1, max_length=4)
    contact: str | None = Field(None, max_length=200)


class MoveIn(Body):
    starts_at: AwareDatetime


class CheckInIn(Body):
    code: Code
    language: TicketLanguage = "ja"


class AppointmentOut(BaseModel):
    """A booking as its holder sees it: no contact is ever sent back."""

    office_id: str
    category_id: str
    starts_at: datetime
    initial: str
    status: str
    ticket_id: str | None = None


class BookedOut(AppointmentOut):
    code: str = Field(description="The confirmation code: shown once, keep it")


class StaffAppointmentOut(AppointmentOut):
    id: str
    booked_by: str
    has_contact: bool
    checked_in_at: datetime | None = None


def _out(appointment: Any) -> dict[str, Any]:
    return dict(
        office_id=appointment.office_id,
        category_id=appointment.category_id,
        starts_at=appointment.starts_at,
        initial=appointment.initial,
        status=appointment.status,
        ticket_id=appointment.ticket_id,
    )


def _public(request: Request) -> None:
    request.app.state.public_limiter.check(request)


@router.put(
    "/admin/offices/{office_id}/categories/{category_id}/appointment-hours",
    response_model=HoursOut,
    summary="Set a category's appointment hours and seats per slot 予約枠の設定",
    responses={404: {}, 422: {}},
)
async def put_hours(
    office_id: str, category_id: str, body: HoursIn, uow: UowDep, principal: Admin
) -> HoursOut:
    hours = await service.set_hours(
        uow,
        principal,
        office_id=office_id,
        category_id=category_id,
        hours=AppointmentHours(body.opens_at, body.closes_at, body.slot_minutes, body.seats),
    )
    return HoursOut(**hours.__dict__)


@router.get(
    "/public/offices/{office_id}/appointment-categories",
    response_model=BookableOut,
    summary="The office and its categories that take appointments (anyone; the booking page)",
    responses={404: {}, 429: {}},
)
async def bookable(
    office_id: str, request: Request, uow: UowDep, settings: SettingsDep
) -> BookableOut:
    _public(request)
    office, found = await service.bookable(uow, office_id)
    return BookableOut(
        office_id=office.id,
        name_ja=office.name_ja,
        name_en=office.name_en,
        book_days_ahead=settings.appointments.book_days_ahead,
        categories=[
            BookableCategoryOut(
                category_id=b.category.id,
                prefix=b.category.prefix,
                name_ja=b.category.name_ja,
                name_en=b.category.name_en,
                opens_at=b.hours.opens_at,
                closes_at=b.hours.closes_at,
                slot_minutes=b.hours.slot_minutes,
            )
            for b in found
        ],
    )


@router.get(
    "/public/offices/{office_id}/appointment-slots",
    response_model=list[SlotOut],
    summary="A day's slots of a category with their free seats (anyone)",
    responses={404: {}, 429: {}},
)
async def slots(
    office_id: str,
    request: Request,
    uow: UowDep,
    category: Annotated[str, Query(min_length=1, max_length=64)],
    day: date,
) -> list[SlotOut]:
    _public(request)
    found = await service.free_slots(uow, office_id=office_id, category_id=category, day=day)
    return [SlotOut(starts_at=s.starts_at, seats=s.seats, free=s.free) for s in found]


@router.post(
    "/public/appointments",
    status_code=status.HTTP_201_CREATED,
    response_model=BookedOut,
    summary="Book a slot without an account: answers the confirmation code 来庁予約",
    responses={404: {}, 409: {}, 422: {}, 429: {}},
)
async def book(body: BookIn, request: Request, uow: UowDep) -> BookedOut:
    _public(request)
    booked = await service.book(
        uow,
        office_id=body.office_id,
        category_id=body.category_id,
        starts_at=body.starts_at,
        initial=body.initial,
        contact=body.contact,
    )
    assert booked.code is not None
    return BookedOut(**_out(booked.appointment), code=booked.code)


@router.get(
    "/public/appointments/{code}",
    response_model=AppointmentOut,
    summary="A booking by its confirmation code (anyone holding the code)",
    responses={404: {}, 429: {}},
)
async def show(code: str, request: Request, uow: UowDep) -> AppointmentOut:
    _public(request)
    return AppointmentOut(**_out(await service.find(uow, code)))


@router.get(
    "/public/appointments/{code}/qr.svg",
    response_class=Response,
    summary="QR code of a booking's confirmation code (SVG), for the kiosk's scanner",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {}, 429: {}},
)
async def code_qr(code: str, request: Request, uow: UowDep) -> Response:
    _public(request)
    await service.find(uow, code)  # only a real booking's code: a wrong one is a 404
    return Response(
        qr_svg(format_code(read_code(code) or "")),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/public/appointments/{code}/move",
    response_model=AppointmentOut,
    summary="Move a booking to another slot of its category",
    responses={404: {}, 409: {}, 422: {}, 429: {}},
)
async def move(code: str, body: MoveIn, request: Request, uow: UowDep) -> AppointmentOut:
    _public(request)
    return AppointmentOut(**_out(await service.move(uow, code=code, starts_at=body.starts_at)))


@router.post(
    "/public/appointments/{code}/cancel",
    response_model=AppointmentOut,
    summary="Cancel a booking (its seat is free again)",
    responses={404: {}, 409: {}, 429: {}},
)
async def cancel(code: str, request: Request, uow: UowDep) -> AppointmentOut:
    _public(request)
    return AppointmentOut(**_out(await service.cancel(uow, code=code)))


@router.post(
    "/offices/{office_id}/appointments",
    status_code=status.HTTP_201_CREATED,
    response_model=BookedOut,
    summary="Book for a resident (staff, e.g. by phone)",
    responses={404: {}, 409: {}, 422: {}},
)
async def staff_book(
    office_id: str, body: StaffBookIn, uow: UowDep, principal: Booker
) -> BookedOut:
    booked = await service.book(
        uow,
        office_id=office_id,
        category_id=body.category_id,
        starts_at=body.starts_at,
        initial=body.initial,
        contact=body.contact,
        principal=principal,
    )
    assert booked.code is not None
    return BookedOut(**_out(booked.appointment), code=booked.code)


@router.get(
    "/offices/{office_id}/appointments",
    response_model=list[StaffAppointmentOut],
    summary="The office's bookings of a day, today by default (staff)",
    responses={404: {}},
)
async def staff_list(
    office_id: str, uow: UowDep, principal: Booker, day: date | None = None
) -> list[StaffAppointmentOut]:
    found = await service.list_day(uow, principal, office_id=office_id, day=day)
    return [
        StaffAppointmentOut(
            **_out(a),
            id=a.id,
            booked_by=a.booked_by,
            has_contact=a.contact is not None,
            checked_in_at=a.checked_in_at,
        )
        for a in found
    ]


@router.post(
    "/offices/{office_id}/appointments/check-in",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedTicketOut,
    summary="Check a booking in at the kiosk: a ticket merged with walk-ins 予約受付",
    responses={404: {}, 409: {}, 422: {}, 429: {}},
)
async def check_in(
    office_id: str,
    body: CheckInIn,
    request: Request,
    uow: UowDep,
    principal: Kiosk,
    settings: SettingsDep,
) -> IssuedTicketOut:
    request.app.state.kiosk_limiter.check(request, key=principal.token_id)
    view = await service.check_in(
        uow, principal, office_id=office_id, code=body.code, language=body.language
    )
    return issued_ticket_out(view, settings.public_base_url)
