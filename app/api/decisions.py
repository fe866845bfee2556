"""Withdraw (取下げ) an application, or reopen an approved one for correction: city staff only."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.api.schemas import Body
from app.domain.roles import Role
from app.services import work as work_service

router = APIRouter(tags=["decisions"])

# City staff: the token shape keeps vendor-employed people out of these roles.
CityStaff = Caller(Role.REVIEWER, Role.SUPERVISOR)


class Reason(Body):
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the event log)")


class WithdrawOut(BaseModel):
    application_id: str
    status: str
    cancelled_tasks: list[str] = Field(description="Open or leased tasks now cancelled")
    core_seq: int | None = Field(
        description="The withdrawal's position in GET /core/approved, "
        "when the application had been approved; otherwise null"
    )


class CorrectionOut(BaseModel):
    application_id: str
    status: str
    task_id: str = Field(description="The entry task the correction starts with")


@router.post(
    "/applications/{application_id}/withdraw",
    response_model=WithdrawOut,
    summary="取下げ: withdraw an application with a reason (tasks cancelled, leases revoked)",
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
async def withdraw(
    application_id: str, body: Reason, uow: UowDep, principal: CityStaff
) -> WithdrawOut:
    done = await work_service.withdraw(uow, principal, application_id, body.reason)
    return WithdrawOut(
        application_id=done.application.id,
        status=done.application.status,
        cancelled_tasks=done.cancelled_tasks,
        core_seq=done.core_seq,
    )


@router.post(
    "/applications/{application_id}/correction",
    response_model=CorrectionOut,
    summary="Reopen an approved application for correction: entry, verify and review again",
    responses={403: {}, 404: {}, 409: {}, 422: {}},
)
async def correction(
    application_id: str, body: Reason, uow: UowDep, principal: CityStaff
) -> CorrectionOut:
    application, task = await work_service.open_correction(
        uow, principal, application_id, body.reason
    )
    return CorrectionOut(application_id=application.id, status=application.status, task_id=task.id)
