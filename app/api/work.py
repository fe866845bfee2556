"""The central entry and review queue (CONTRACT.md): claim, heartbeat, submit, release, stats."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.api.schemas import Body
from app.domain.applications import TaskKind, get_path
from app.domain.catalogue import load_catalogue
from app.domain.household import resulting_household
from app.domain.roles import Principal, Role
from app.domain.validators import with_levels
from app.domain.visibility import Lens, Viewer, settle_purpose
from app.services import work as work_service
from app.services import work_views
from app.services.access import record_access
from app.services.records import ApplicationRecord, TaskRecord
from app.services.stats import queue_stats
from app.services.visibility import viewer_for

router = APIRouter(prefix="/work", tags=["work queue"])

Worker = Caller(Role.OPERATOR, Role.REVIEWER)
Holder = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.VENDOR_MANAGER)
Supervisor = Caller(Role.SUPERVISOR)
# The vendor's 管理責任者 (a person), not the vendor's batch system.
VendorManager = Caller(Role.VENDOR_MANAGER)


class ClaimWork(Body):
    kinds: list[TaskKind] | None = Field(None, max_length=4)
    procedures: list[str] | None = Field(None, max_length=20)


class LeaseToken(Body):
    lease_token: str = Field(min_length=1, max_length=64)


class ReleaseWork(Body):
    lease_token: str | None = Field(None, max_length=64)


class Acknowledgement(Body):
    field: str = Field(min_length=1, max_length=200, description="The warning's field path")
    code: str = Field(min_length=1, max_length=64, description="The warning's code")


class SubmitWork(Body):
    lease_token: str = Field(min_length=1, max_length=64)
    values: dict[str, Any] | None = Field(
        None,
        description="Keyed values (entry: the form; verify/settle: path → value); with "
        "decision `correct`, the corrected fields as path → value",
    )
    decision: Literal["approve", "return", "correct", "reject"] | None = None
    reason: str | None = Field(None, max_length=2000)
    submit_with_problems: bool = Field(
        False,
        description="問題ありで送信: send keyed values although they have error-level "
        "problems (recorded in the history); without it such a submit answers 422 with the "
        "problems",
    )
    acknowledge: list[Acknowledgement] = Field(
        default_factory=list,
        max_length=200,
        description="Approval: every open warning, by field and code (recorded in the history)",
    )


class OpenProblem(BaseModel):
    field: str
    code: str
    message: str
    level: Literal["error", "warning"]


class TaskOut(BaseModel):
    id: str
    kind: str
    status: str
    procedure: str
    procedure_name_ja: str
    procedure_name_en: str
    application_id: str
    lease_token: str | None
    lease_expires_at: datetime | None
    due_on: str | None
    note: str | None
    field_keys: list[str]
    form: dict[str, Any] = Field(description="What the screen shows; blind for verify tasks")


class LeaseOut(BaseModel):
    id: str
    status: str
    lease_expires_at: datetime | None


class SubmitOut(BaseModel):
    task_id: str
    application_id: str
    application_status: str
    outcome: str
    problems: list[OpenProblem] = Field(
        description="Problems the step found (verify: only in the fields it keyed); review: the "
        "application's open problems"
    )


async def task_out(
    uow: Any, principal: Principal, viewer: Viewer, task: TaskRecord, application: ApplicationRecord
) -> TaskOut:
    """The task's screen, through the visibility policy; its access-log row says what it showed."""
    procedure = load_catalogue().get(application.procedure)
    kind = TaskKind(task.kind)
    form: dict[str, Any]
    if kind is TaskKind.VERIFY:
        # Blind: neither the first keying nor the OCR text, only where to look.
        lens = Lens(viewer, procedure)
        form = {"ocr": lens.ocr(application.ocr, blind=True, only=task.field_keys)}
    elif kind is TaskKind.SETTLE:
        lens = Lens(viewer, procedure, settle_purpose(procedure, task.field_keys))
        verify_values = await work_views.verify_values(uow, application.id)
        form = {
            "entry_values": lens.picked(task.field_keys, lambda p: get_path(application.values, p)),
            "verify_values": lens.picked(task.field_keys, verify_values.get),
            "ocr": lens.ocr(application.ocr, only=task.field_keys),
        }
    else:
        lens = Lens(viewer, procedure)
        form = {
            "values": lens.values(application.values, as_edited=True),
            # Each with its level: errors block approval, warnings need acknowledging.
            "problems": with_levels(
                [p for p in application.problems if lens.may_see(str(p.get("field", "")))]
            ),
            "ocr": lens.ocr(application.ocr),
            "applicant": lens.applicant(application.applicant),
            # Scans show the whole form, which no allow-list can cut: they stay with city staff.
            "attachments": [] if viewer.vendor_side else application.attachments,
        }
        if kind is TaskKind.REVIEW and not viewer.vendor_side:
            # 世帯主 (DOMAIN.md §7 rule 9): the household as it will be once approved.
            form["resulting_household"] = resulting_household(procedure.code, application.values)
    record_access(
        uow,
        principal,
        action="work",
        entity="application",
        entity_id=application.id,
        my_number_shown=lens.shown.my_number_shown,
        detail={"task": task.id, "kind": task.kind, **lens.shown.detail()},
    )
    return TaskOut(
        id=task.id,
        kind=task.kind,
        status=task.status,
        procedure=task.procedure,
        procedure_name_ja=procedure.name_ja,
        procedure_name_en=procedure.name_en,
        application_id=application.id,
        lease_token=task.lease_token,
        lease_expires_at=task.lease_expires_at,
        due_on=application.due_on.isoformat() if application.due_on else None,
        note=task.note,
        field_keys=task.field_keys,
        form=form,
    )


@router.post(
    "/claim",
    response_model=TaskOut,
    summary="Lease the next task you may take",
    responses={204: {"description": "Nothing to do"}},
)
async def claim(body: ClaimWork, uow: UowDep, principal: Worker) -> TaskOut | Response:
    claimed = await work_service.claim(uow, principal, kinds=body.kinds, procedures=body.procedures)
    if claimed is None:
        return Response(status_code=204)
    return await task_out(uow, principal, claimed.viewer, claimed.task, claimed.application)


@router.post(
    "/{task_id}/heartbeat",
    response_model=LeaseOut,
    summary="Extend the lease",
    responses={404: {}, 409: {}},
)
async def heartbeat(task_id: str, body: LeaseToken, uow: UowDep, principal: Worker) -> LeaseOut:
    task = await work_service.heartbeat(uow, principal, task_id, body.lease_token)
    return LeaseOut(id=task.id, status=task.status, lease_expires_at=task.lease_expires_at)


@router.post(
    "/{task_id}/submit",
    response_model=SubmitOut,
    summary="Keyed values, or a review decision (approve / return / reject)",
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
async def submit(task_id: str, body: SubmitWork, uow: UowDep, principal: Worker) -> SubmitOut:
    task, application = await work_service.submit(
        uow,
        principal,
        task_id,
        body.lease_token,
        values=body.values,
        decision=body.decision,
        reason=body.reason,
        submit_with_problems=body.submit_with_problems,
        acknowledge=[a.model_dump() for a in body.acknowledge],
    )
    result = task.result or {}
    return SubmitOut(
        task_id=task_id,
        application_id=application.id,
        application_status=application.status,
        outcome=str(result.get("outcome")),
        problems=[OpenProblem(**p) for p in result.get("problems", [])],
    )


@router.post(
    "/{task_id}/release",
    response_model=LeaseOut,
    summary="Give the task back untouched (supervisor: a stuck task of city staff; "
    "the vendor's 管理責任者: of the vendor's operators)",
    responses={403: {}, 404: {}, 409: {}},
)
async def release(task_id: str, body: ReleaseWork, uow: UowDep, principal: Holder) -> LeaseOut:
    task = await work_service.release(uow, principal, task_id, body.lease_token)
    return LeaseOut(id=task.id, status=task.status, lease_expires_at=task.lease_expires_at)


@router.get("/stats", summary="Depth, age, due and overdue per procedure and step; throughput")
async def stats(uow: UowDep, principal: Supervisor) -> dict[str, Any]:
    return await queue_stats(uow, principal.municipality_code)


@router.get(
    "/vendor-queue",
    response_model=list[TaskOut],
    summary="Returned vendor-keyed work, for the vendor's 管理責任者 to assign",
)
async def vendor_queue(
    uow: UowDep, principal: VendorManager, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[TaskOut]:
    viewer = await viewer_for(uow, principal)
    rows = await work_views.vendor_queue(uow, principal.municipality_code, viewer, limit)
    return [await task_out(uow, principal, viewer, task, application) for task, application in rows]


@router.post(
    "/{task_id}/dispatch",
    response_model=LeaseOut,
    summary="The vendor's manager passes a returned task to the vendor's operators",
    responses={404: {}},
)
async def dispatch(task_id: str, uow: UowDep, principal: VendorManager) -> LeaseOut:
    task = await work_service.dispatch(uow, principal, task_id)
    return LeaseOut(id=task.id, status=task.status, lease_expires_at=task.lease_expires_at)
