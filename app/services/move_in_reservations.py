"""転入予約 (引越しワンストップ): the online-application system hands in a 転出届 announced
through マイナポータル; it is kept as a reservation with a number; at the kiosk the number (or
its QR code) issues the 住民異動 ticket and files the 転入届 pre-filled from it."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.domain.appointments import CODE_ALPHABET, CODE_LENGTH, read_code
from app.domain.catalogue import load_catalogue
from app.domain.clock import business_day
from app.domain.deadlines import Calendar
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.fields import require_strict_types, validate_fields
from app.domain.move_in_reservations import (
    EXPIRING_DAYS,
    MOVE_OUT_DAYS,
    ReservationState,
    ReservationStatus,
    last_valid_day,
    move_in_fields,
    planned_move_out,
    state_on,
)
from app.domain.roles import Principal
from app.domain.validators import level
from app.services import intake
from app.services import tickets as ticket_service
from app.storage import move_in_reservations as store
from app.storage.tables import MoveInReservation, TicketCategory
from app.storage.uow import UnitOfWork

MOVE_OUT = "resident.move_out"
MOVE_IN = "resident.move_in"


class ReservationExpired(Conflict):
    code = "reservation_expired"
    title = "転入予約の期限切れ / Reservation expired"


class PortalRefConflict(Conflict):
    code = "portal_ref_conflict"
    title = "同じ受付番号で内容が異なります / Same portal id, different content"


@dataclass(frozen=True)
class Reservation:
    row: MoveInReservation
    state: ReservationState


@dataclass(frozen=True)
class Request:
    """What the online-application system sends (the HTTP layer validates its shape)."""

    portal_ref: str
    office_id: str
    category_id: str
    received_at: datetime
    applicant: dict[str, Any]
    move_out: dict[str, Any]
    planned_arrival: date
    previous_municipality_code: str | None


def _fingerprint(request: Request) -> str:
    content = {
        "office_id": request.office_id,
        "category_id": request.category_id,
        "applicant": request.applicant,
        "move_out": request.move_out,
        "planned_arrival": request.planned_arrival.isoformat(),
        "previous_municipality_code": request.previous_municipality_code,
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _today(uow: UnitOfWork) -> date:
    return business_day(uow.now())


def view(uow: UnitOfWork, row: MoveInReservation) -> Reservation:
    return Reservation(row, state_on(row.status, row.last_valid_day, _today(uow)))


def _checked_move_out(request: Request, today: date) -> date:
    """The 転出届 as the portal sent it must be whole: any error refuses the reservation, with
    each field's reason, and nothing is stored. Answers the 転出予定日."""
    procedure = load_catalogue().get(MOVE_OUT)
    require_strict_types(procedure, request.move_out, "move_out.")
    values, found = validate_fields(procedure, request.move_out, today)
    # Alerts (a character to identify, an unusual age) are the counter's to check: they go on.
    problems = [p for p in found if level(p["code"]) == "error"]
    if problems:
        raise InvalidInput(
            "転出届の内容に誤りがあります (the move-out notification has problems)",
            errors=[{**p, "field": f"move_out.{p['field']}"} for p in problems],
        )
    move_out_day = planned_move_out(values)
    assert move_out_day is not None  # a required date without a problem
    if request.planned_arrival < move_out_day:
        raise InvalidInput.field(
            "planned_arrival",
            "before_move_out",
            "転入予定日が転出予定日より前です (planned arrival before the planned move-out)",
        )
    if request.planned_arrival > move_out_day + timedelta(days=MOVE_OUT_DAYS):
        # The 転入 is filed after arriving and within 30 days of the 転出予定日: impossible.
        raise InvalidInput.field(
            "planned_arrival",
            "after_special_window",
            "転入予定日が転出予定日から30日を過ぎています。転出証明書による転入となります "
            "(arrival more than 30 days after the planned move-out: the paper certificate "
            "route applies)",
        )
    if move_out_day > date.max - timedelta(days=2 * MOVE_OUT_DAYS):
        raise InvalidInput.field(
            "move_out.planned_move_date", "out_of_range", "日付が範囲外です (date out of range)"
        )
    return move_out_day


async def _category(uow: UnitOfWork, principal: Principal, request: Request) -> None:
    office = await ticket_service.get_office(uow, principal, request.office_id)
    category = await uow.get(TicketCategory, request.category_id)
    if category is None or category.office_id != office.id or not category.is_active:
        raise InvalidInput.field(
            "category_id", "unknown_category", "受付区分が見つかりません (no such category here)"
        )


async def _new_number(uow: UnitOfWork, municipality_code: str) -> str:
    while True:
        number = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if await store.by_number(uow.session, municipality_code, number) is None:
            return number


async def reserve(
    uow: UnitOfWork, principal: Principal, request: Request
) -> tuple[Reservation, bool]:
    """Store the reservation; (reservation, created). The same portal id with the same content
    is the same reservation; with other content a PortalRefConflict naming its number."""
    existing = await store.by_portal_ref(
        uow.session, principal.municipality_code, request.portal_ref
    )
    fingerprint = _fingerprint(request)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise PortalRefConflict(
                "この受付番号 (portal_ref) で別の内容の転入予約が登録済みです "
                "(a reservation with this portal_ref and other content is stored)",
                number=existing.number,
            )
        return view(uow, existing), False
    move_out_day = _checked_move_out(request, _today(uow))
    await _category(uow, principal, request)
    now = uow.now()
    row = MoveInReservation(
        municipality_code=principal.municipality_code,
        office_id=request.office_id,
        category_id=request.category_id,
        portal_ref=request.portal_ref,
        number=await _new_number(uow, principal.municipality_code),
        status=ReservationStatus.RESERVED,
        planned_move_out_date=move_out_day,
        planned_arrival=request.planned_arrival,
        last_valid_day=last_valid_day(move_out_day, request.planned_arrival, Calendar()),
        fingerprint=fingerprint,
        applicant=request.applicant,
        fields=move_in_fields(
            request.move_out,
            planned_arrival=request.planned_arrival,
            previous_municipality_code=request.previous_municipality_code,
        ),
        received_at=request.received_at,
        created_at=now,
        updated_at=now,
    )
    uow.add(row)
    uow.log(
        entity="move_in_reservation",
        entity_id=row.id,
        action="reserve",
        municipality_code=row.municipality_code,
        to_status=row.status,
        data={"last_valid_day": row.last_valid_day.isoformat()},
    )
    return view(uow, row), True


async def find_by_portal_ref(
    uow: UnitOfWork, principal: Principal, portal_ref: str
) -> Reservation | None:
    row = await store.by_portal_ref(uow.session, principal.municipality_code, portal_ref)
    return view(uow, row) if row is not None else None


async def _by_number(
    uow: UnitOfWork, principal: Principal, number: str, *, lock: bool = False
) -> MoveInReservation:
    code = read_code(number)
    if code is None:
        raise InvalidInput.field(
            "number", "malformed", "予約番号を読み取れません (not a reservation number)"
        )
    row = await store.by_number(uow.session, principal.municipality_code, code, lock=lock)
    if row is None:
        raise NotFound("転入予約が見つかりません (no such reservation)")
    return row


async def find(uow: UnitOfWork, principal: Principal, number: str) -> Reservation:
    return view(uow, await _by_number(uow, principal, number))


async def due_list(
    uow: UnitOfWork, principal: Principal, *, expired: bool, limit: int
) -> list[Reservation]:
    """Reservations not checked in whose last valid day has passed (``expired``) or comes within
    EXPIRING_DAYS days, earliest first."""
    today = _today(uow)
    until = date.fromordinal(today.toordinal() + (-1 if expired else EXPIRING_DAYS))
    rows = await store.open_until(
        uow.session, principal.municipality_code, ReservationStatus.RESERVED, until, limit
    )
    found = [view(uow, row) for row in rows]
    return [r for r in found if (r.state == ReservationState.EXPIRED) == expired]


async def check_in(
    uow: UnitOfWork, principal: Principal, *, office_id: str, number: str, language: str
) -> tuple[ticket_service.TicketView, str]:
    """At the kiosk: the reservation's 住民異動 ticket, and the 転入届 filed from it (channel
    ``online``, linked to the ticket, so the counter and the entry queue find it pre-filled).
    Answers the ticket and the application's id."""
    office = await ticket_service.get_office(uow, principal, office_id)
    row = await _by_number(uow, principal, number, lock=True)
    if row.office_id != office.id:
        raise NotFound("転入予約が見つかりません (no such reservation)")
    if row.status == ReservationStatus.CHECKED_IN:
        raise Conflict("この転入予約は受付済みです (this reservation has already been checked in)")
    if _today(uow) > row.last_valid_day:
        raise ReservationExpired(
            f"転入予約の期限 ({row.last_valid_day.isoformat()}) を過ぎています。"
            "転出証明書をお持ちのうえ窓口でお手続きください "
            f"(the reservation's last day {row.last_valid_day.isoformat()} has passed: "
            "please bring the paper move-out certificate to the counter)",
            last_valid_day=row.last_valid_day.isoformat(),
        )
    view_ = await ticket_service.issue_ticket(
        uow,
        principal,
        office_id=office.id,
        category_id=row.category_id,
        is_priority=False,
        language=language,
    )
    fields = {**row.fields, "filing_date": _today(uow).isoformat()}
    envelope = intake.Envelope(
        procedure=MOVE_IN,
        channel="online",
        received_at=uow.now(),
        external_ref=f"move-in-reservation:{row.number}",
        ticket=view_.ticket.id,
        applicant=row.applicant,
        fields=fields,
        ocr=None,
        attachments=[],
        support_measure=False,
    )
    application, _ = await intake.receive(uow, principal, envelope)
    now = uow.now()
    row.status = ReservationStatus.CHECKED_IN
    # The 転入届 now holds what the resident sent: the reservation keeps no personal data.
    row.applicant = {}
    row.fields = {}
    row.checked_in_at = now
    row.updated_at = now
    row.ticket_id = view_.ticket.id
    row.application_id = application.id
    uow.log(
        entity="move_in_reservation",
        entity_id=row.id,
        action="check_in",
        municipality_code=row.municipality_code,
        to_status=row.status,
        data={"ticket_id": view_.ticket.id, "application_id": application.id},
    )
    return view_, application.id
