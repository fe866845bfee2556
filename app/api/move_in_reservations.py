"""転入予約 (引越しワンストップ): intake from the online-application system, the reservation and
its QR code, the kiosk's check-in by number, the supervisor's list of expiring reservations.

Every answer is ``Cache-Control: no-store`` (the /api/v1 default); every read that says a
person is moving (the reservation, the list) is in the access log."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from app.api.deps import Caller, SettingsDep, UowDep
from app.api.lobby import issued_ticket_out
from app.api.qr import qr_svg
from app.api.schemas import IssuedTicketOut, TicketLanguage
from app.domain.appointments import format_code
from app.domain.bodies import Body
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.domain.validators.codes import is_valid_municipality_code
from app.services import move_in_reservations as service
from app.services.access import record_access
from app.services.envelopes import Applicant

router = APIRouter(tags=["move-in reservations"])
Intake = Caller(Role.INTAKE)
# Who may look a reservation up by its number: the sender, and the city staff the resident meets.
Reader = Caller(Role.INTAKE, Role.COUNTER, Role.SUPERVISOR)
Supervisor = Caller(Role.SUPERVISOR)
Kiosk = Caller(Role.KIOSK, Role.COUNTER)
Number = Annotated[str, Field(min_length=1, max_length=32)]


class ReservationIn(Body):
    portal_ref: str = Field(
        min_length=1, max_length=100, description="The portal's id of the 転出届 (idempotency)"
    )
    office_id: str = Field(min_length=1, max_length=64, description="Where the resident comes")
    category_id: str = Field(
        min_length=1, max_length=64, description="The office's 住民異動 category (the ticket's)"
    )
    received_at: AwareDatetime
    applicant: Applicant
    move_out: dict[str, Any] = Field(
        description="The 転出届 as filed on the portal: the fields of resident.move_out"
    )
    planned_arrival: date = Field(description="転入予定日 (the day the resident moves in)")
    previous_municipality_code: str | None = Field(
        None, max_length=6, description="全国地方公共団体コード of the municipality left"
    )


class ReservationOut(BaseModel):
    number: str = Field(description="予約番号, as the resident types it (XXXXX-XXXXX)")
    status: Literal["reserved", "checked_in", "lapsed"] = Field(
        description="lapsed: not checked in 30 days past its last valid day; the resident's "
        "data is gone"
    )
    state: Literal["valid", "expiring", "expired", "checked_in"]
    office_id: str
    category_id: str
    planned_move_out_date: date
    planned_arrival: date
    last_valid_day: date = Field(
        description="The last day the 転入 may be filed with it (法24条の2: 14 days after "
        "moving in and 30 days after the 転出予定日, the earlier, rolled to an open day)"
    )
    qr: str = Field(description="The QR code of the number (SVG) for the kiosk's scanner")
    received_at: datetime
    checked_in_at: datetime | None
    ticket_id: str | None
    application_id: str | None


class CheckInIn(Body):
    number: Number
    language: TicketLanguage = "ja"


class CheckedInOut(IssuedTicketOut):
    application_id: str = Field(description="The 転入届 filed from the reservation")


def _out(found: service.Reservation) -> dict[str, Any]:
    row = found.row
    return ReservationOut(
        number=format_code(row.number),
        status=row.status,  # type: ignore[arg-type]
        state=found.state.value,  # type: ignore[arg-type]
        office_id=row.office_id,
        category_id=row.category_id,
        planned_move_out_date=row.planned_move_out_date,
        planned_arrival=row.planned_arrival,
        last_valid_day=row.last_valid_day,
        qr=f"/api/v1/move-in-reservations/{format_code(row.number)}/qr.svg",
        received_at=row.received_at,
        checked_in_at=row.checked_in_at,
        ticket_id=row.ticket_id,
        application_id=row.application_id,
    ).model_dump(mode="json")


@router.post(
    "/move-in-reservations",
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationOut,
    summary="Take a 転出届 announced through マイナポータル as a 転入予約 (引越しワンストップ)",
    responses={
        200: {"model": ReservationOut, "description": "Already reserved (same portal_ref)"},
        404: {},
        409: {"description": "portal_ref_conflict: other content under this portal_ref"},
        422: {},
    },
)
async def reserve(body: ReservationIn, uow: UowDep, principal: Intake) -> JSONResponse:
    code = body.previous_municipality_code
    if code is not None and not is_valid_municipality_code(code):
        raise InvalidInput.field(
            "previous_municipality_code",
            "municipality_code_format",
            "地方公共団体コードではありません (not a municipality code)",
        )
    found, created = await service.reserve(
        uow,
        principal,
        service.Request(
            portal_ref=body.portal_ref,
            office_id=body.office_id,
            category_id=body.category_id,
            received_at=body.received_at,
            applicant=body.applicant.model_dump(exclude_none=True),
            move_out=body.move_out,
            planned_arrival=body.planned_arrival,
            previous_municipality_code=code,
        ),
    )
    return JSONResponse(_out(found), status_code=201 if created else 200)


@router.get(
    "/move-in-reservations",
    response_model=list[ReservationOut],
    summary="Reservations not checked in that expire within 7 days, or have expired (supervisors)",
)
async def due(
    uow: UowDep,
    principal: Supervisor,
    state: Annotated[Literal["expiring", "expired"], Query()] = "expiring",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    found = await service.due_list(uow, principal, expired=state == "expired", limit=limit)
    for reservation in found:
        record_access(
            uow,
            principal,
            action="list",
            entity="move_in_reservation",
            entity_id=reservation.row.id,
        )
    return [_out(r) for r in found]


@router.get(
    "/move-in-reservations/{number}",
    response_model=ReservationOut,
    summary="A 転入予約 by its number, with its last valid day",
    responses={404: {}, 422: {}},
)
async def show(number: str, uow: UowDep, principal: Reader) -> dict[str, Any]:
    found = await service.find(uow, principal, number)
    record_access(
        uow, principal, action="view", entity="move_in_reservation", entity_id=found.row.id
    )
    return _out(found)


@router.get(
    "/move-in-reservations/{number}/qr.svg",
    response_class=Response,
    summary="QR code of a reservation's number (SVG), for the kiosk's scanner",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {}, 422: {}},
)
async def number_qr(number: str, uow: UowDep, principal: Reader) -> Response:
    found = await service.find(uow, principal, number)
    return Response(
        qr_svg(format_code(found.row.number)),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/offices/{office_id}/move-in-reservations/check-in",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckedInOut,
    summary="At the kiosk: a 転入予約's number issues the 住民異動 ticket and files the 転入届",
    responses={
        404: {},
        409: {"description": "reservation_expired (bring the paper 転出証明書), or checked in"},
        422: {},
        429: {},
    },
)
async def check_in(
    office_id: str,
    body: CheckInIn,
    request: Request,
    uow: UowDep,
    principal: Kiosk,
    settings: SettingsDep,
) -> dict[str, Any]:
    request.app.state.kiosk_limiter.check(request, key=principal.token_id)
    view, application_id = await service.check_in(
        uow, principal, office_id=office_id, number=body.number, language=body.language
    )
    out = issued_ticket_out(view, settings.public_base_url).model_dump(mode="json")
    return {**out, "application_id": application_id}
