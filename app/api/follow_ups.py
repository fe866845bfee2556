"""A move as a life event: the departments' queues of follow-ups, and the case a supervisor sees.

City staff only: vendor-employed operators are refused (403). No name or number is served: a
person is their place on the move form (``members[2]``); the application's own read shows who
that is, in the access log.
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.domain.roles import Role
from app.services import follow_ups as service

router = APIRouter(tags=["life events"])

CityStaff = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR)
Supervisor = Caller(Role.SUPERVISOR)


class FollowUpOut(BaseModel):
    id: str
    application_id: str = Field(description="The move it follows")
    move: str = Field(description="The move's procedure code")
    member: str = Field(description="The person: their place on the move form, e.g. members[2]")
    kind: str = Field(
        description="The follow-up (procedures/_follow_ups.json), e.g. child_allowance.claim"
    )
    name_ja: str
    name_en: str
    department: str
    department_ja: str
    department_en: str
    due_on: date | None = Field(description="Rolled forward to an open day")
    status: str = Field(description="open, or cancelled when the move was withdrawn")
    created_at: datetime


class MoveOut(BaseModel):
    application_id: str
    procedure: str
    status: str
    received_at: datetime
    decided_at: datetime | None
    due_on: date | None
    members: int = Field(description="How many persons the move form lists")


class LifeEventOut(BaseModel):
    move: MoveOut
    follow_ups: list[FollowUpOut] = Field(description="By due date, department and person")
    open_by_department: dict[str, int]


def _out(view: service.FollowUpView) -> FollowUpOut:
    return FollowUpOut(**view.__dict__)


@router.get(
    "/follow-ups",
    response_model=list[FollowUpOut],
    summary="A department's queue of follow-ups of approved moves, earliest due first "
    "(city staff only)",
    responses={403: {}, 422: {}},
)
async def department_queue(
    uow: UowDep,
    principal: CityStaff,
    department: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[FollowUpOut]:
    views = await service.department_queue(
        uow, principal, department=department, status=status, limit=limit
    )
    return [_out(v) for v in views]


@router.get(
    "/life-events/{application_id}",
    response_model=LifeEventOut,
    summary="A move and every follow-up it made due in other departments, as one case",
    responses={403: {}, 404: {}},
)
async def life_event(uow: UowDep, principal: Supervisor, application_id: str) -> LifeEventOut:
    event = await service.life_event(uow, principal, application_id)
    application = event.application
    return LifeEventOut(
        move=MoveOut(
            application_id=application.id,
            procedure=application.procedure,
            status=application.status,
            received_at=application.received_at,
            decided_at=application.decided_at,
            due_on=application.due_on,
            members=event.members,
        ),
        follow_ups=[_out(v) for v in event.follow_ups],
        open_by_department=dict(event.departments),
    )
