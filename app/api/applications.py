"""Intake: applications from the counter, OCR, online portals and the mail room; the catalogue."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from app.api.deps import Caller, ResourcesDep, SettingsDep, UowDep
from app.api.idempotency import idempotent
from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotAllowed
from app.domain.household import resulting_household
from app.domain.municipalities import ward_of
from app.domain.roles import Role
from app.domain.visibility import Lens, Purpose, may_reveal
from app.services import intake, payments
from app.services.access import record_access
from app.services.application_views import get_application, history
from app.services.bulk import bulk_results
from app.services.envelopes import SubmitApplication
from app.services.records import ApplicationRecord
from app.services.visibility import viewer_for

router = APIRouter(tags=["intake"])


class RequestBodyStream(StreamingResponse):
    """A streamed answer to a streamed request body.

    StreamingResponse normally watches ``receive`` for a disconnect while it streams, which
    would swallow the request body still being read; this one only streams. A client that goes
    away is noticed when a write fails.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            return


# One line of POST /applications/bulk's answer.
BULK_RESULT_LINE = {
    "type": "object",
    "required": ["line", "status"],
    "properties": {
        "line": {"type": "integer", "description": "1-based line number of the input"},
        "status": {
            "enum": ["created", "duplicate", "conflict", "rejected", "failed"],
            "description": "created: stored now; duplicate: the same form was stored before (id); "
            "conflict: another form with this external_ref is stored (id); "
            "rejected: bad line, nothing stored; failed: not stored, send it again",
        },
        "id": {"type": "string"},
        "problems": {
            "type": "integer",
            "description": "Field problems stored with the application",
        },
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
    },
}

Intake = Caller(Role.INTAKE, Role.COUNTER)
BulkIntake = Caller(Role.INTAKE)
Reader = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR)
Anyone = Caller(*Role)


class Problem(BaseModel):
    field: str
    code: str
    message: str


class ApplicationOut(BaseModel):
    id: str
    procedure: str
    channel: str
    status: str
    received_at: datetime
    due_at: datetime | None = Field(description="End of the due day (Asia/Tokyo)")
    due_on: str | None
    external_ref: str | None
    ticket_id: str | None
    problems: list[Problem]
    proposals: list[dict[str, Any]]


# What of an event's data the history shows: reasons and what a person chose to send on or
# acknowledged (field paths and problem codes, never values).
HISTORY_DETAIL = (
    "reason",
    "submitted_with_problems",
    "acknowledged",
    "corrected",
    "cancelled_tasks",
)


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor_role: str | None
    actor_id: str | None = Field(None, description="The person who acted")
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description="Reason; problems sent on (`field:code`); warnings "
        "acknowledged; fields corrected; tasks cancelled",
    )


class ApplicationDetail(ApplicationOut):
    applicant: dict[str, Any]
    values: dict[str, Any]
    ocr: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    is_protected: bool
    return_reason: str | None
    my_number_shown: bool
    history: list[HistoryEntry]
    resulting_household: dict[str, Any] | None = Field(
        None,
        description="Moves and household changes, city staff only: the household the form "
        "forms or leaves behind (members or who leaves and stays, the head); `remaining` is null "
        "where the form does not say who stays",
    )
    ward: dict[str, str] | None = Field(
        None,
        description="Moves: the ward of a 政令指定都市 the new address lies in (from its "
        "住所コード): code, city_code, name_ja, name_en; null elsewhere",
    )
    payment_schedule: dict[str, Any] | None = Field(
        None,
        description="An approved 児童手当 認定請求, city staff only: the first months paid "
        "and the even-month payments (pay_on, months covered, amount); otherwise null",
    )


def application_out(application: ApplicationRecord, lens: Lens | None = None) -> dict[str, Any]:
    due_at = None
    if application.due_on is not None:
        due_at = datetime.fromisoformat(f"{application.due_on.isoformat()}T23:59:59+09:00")
    return ApplicationOut(
        id=application.id,
        procedure=application.procedure,
        channel=application.channel,
        status=application.status,
        received_at=application.received_at,
        due_at=due_at,
        due_on=application.due_on.isoformat() if application.due_on else None,
        external_ref=application.external_ref,
        ticket_id=application.ticket_id,
        problems=[
            Problem(**p)
            for p in application.problems
            if lens is None or lens.may_see(str(p.get("field", "")))
        ],
        proposals=application.proposals if lens is None or not lens.viewer.vendor_side else [],
    ).model_dump(mode="json")


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationOut,
    summary="Hand in one application (counter, OCR, online portal, mail room)",
    responses={
        200: {
            "model": ApplicationOut,
            "description": "Already received (same external_ref and content from this sender)",
        },
        409: {
            "description": "external_ref_conflict: this sender stored other content under this "
            "external_ref (context.application_id names it)"
        },
        422: {},
    },
)
async def submit_application(
    body: SubmitApplication,
    uow: UowDep,
    principal: Intake,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> JSONResponse:
    async def run() -> tuple[int, dict[str, object]]:
        application, created = await intake.receive(uow, principal, body.envelope())
        return (201 if created else 200), application_out(application)

    return await idempotent(uow, principal, idempotency_key, "application", body, run)


@router.post(
    "/applications/bulk",
    summary="NDJSON in, one NDJSON result per line out, streamed",
    response_class=RequestBodyStream,
    responses={200: {"content": {"application/x-ndjson": {"schema": BULK_RESULT_LINE}}}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"$ref": "#/components/schemas/SubmitApplication"},
                    "description": "One application envelope per line",
                }
            },
        }
    },
)
async def submit_bulk(
    request: Request,
    principal: BulkIntake,
    resources: ResourcesDep,
    settings: SettingsDep,
) -> RequestBodyStream:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in (
        "application/x-ndjson",
        "application/jsonl",
        "application/json-seq",
        "",
    ):
        raise InvalidInput.field(
            "content-type",
            "unsupported_media_type",
            "NDJSON (application/x-ndjson) を送ってください (send NDJSON)",
        )

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for line in bulk_results(request.stream(), principal, resources, settings):
                yield line
        except ClientDisconnect:
            # The sender went away mid-body: what was committed stays, and a resend says so.
            return

    return RequestBodyStream(stream(), media_type="application/x-ndjson")


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationDetail,
    summary="An application, its fields and history (every read is in the access log)",
    responses={404: {}, 403: {}},
)
async def read_application(
    application_id: str,
    uow: UowDep,
    principal: Reader,
    reveal_my_number: Annotated[bool, Query(description="Show My Numbers (logged)")] = False,
) -> dict[str, Any]:
    viewer = await viewer_for(uow, principal)
    application = await get_application(uow, principal, application_id, viewer)
    if reveal_my_number and not may_reveal(viewer):
        raise NotAllowed("個人番号を表示する権限がありません (not allowed to reveal My Numbers)")
    procedure = load_catalogue().get(application.procedure)
    lens = Lens(viewer, procedure, Purpose.REVEAL if reveal_my_number else Purpose.SCREEN)
    values = lens.values(application.values)
    ocr = lens.ocr(application.ocr) if application.ocr is not None else None
    applicant = lens.applicant(application.applicant)
    shown = lens.shown.my_number_shown
    record_access(
        uow,
        principal,
        action="view",
        entity="application",
        entity_id=application.id,
        my_number_shown=shown,
        detail=lens.shown.detail(),
    )
    events = await history(uow, application.id)
    return {
        **application_out(application, lens),
        "applicant": applicant,
        "values": values,
        "ocr": ocr,
        # Scans show the whole form, which no allow-list can cut: they stay with city staff.
        "attachments": [] if viewer.vendor_side else application.attachments,
        "is_protected": application.is_protected,
        "return_reason": application.return_reason,
        "my_number_shown": shown,
        "resulting_household": None
        if viewer.vendor_side
        else resulting_household(application.procedure, application.values),
        "ward": _ward(application.values),
        "payment_schedule": None
        if viewer.vendor_side
        else payments.payment_schedule(application, uow.settings),
        "history": [
            HistoryEntry(
                at=row["at"],
                action=row["action"],
                from_status=row["from_status"],
                to_status=row["to_status"],
                actor_role=row["actor_role"],
                actor_id=row["actor_id"],
                detail={k: v for k, v in (row["data"] or {}).items() if k in HISTORY_DETAIL},
            )
            for row in events
        ],
    }


def _ward(values: dict[str, Any]) -> dict[str, str] | None:
    ward = ward_of(values.get("new_address_code"))
    if ward is None:
        return None
    return {
        "code": ward.code,
        "city_code": ward.city_code,
        "name_ja": f"{ward.city_name_ja}{ward.name_ja}",
        "name_en": f"{ward.name_en}, {ward.city_name_en}",
    }


@router.get("/procedures", summary="The procedure catalogue: codes, fields, validators, deadlines")
async def procedures(principal: Anyone) -> list[dict[str, object]]:
    return load_catalogue().public_list()
