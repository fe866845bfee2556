"""The lobby displays' administration: the test announcement and the quiet hours (supervisors
and administrators of the city; never vendor staff)."""

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from app.api.deps import Caller, ResourcesDep, UowDep
from app.api.schemas import Body
from app.domain.roles import Role
from app.realtime.messages import AnnouncementRef, QuietHours
from app.services import display_admin

router = APIRouter(prefix="/admin", tags=["admin"])
DisplayAdmin = Caller(Role.ADMIN, Role.SUPERVISOR)
Clock = Annotated[str, StringConstraints(min_length=1, max_length=5)]


class QuietRangeIn(Body):
    start: Clock = Field(description="HH:MM, Japan time")
    end: Clock = Field(description="HH:MM, Japan time, after the start (24:00 allowed)")


class QuietHoursIn(Body):
    ranges: list[QuietRangeIn] = Field(max_length=20, description="[] for no quiet hours")


class DisplayOut(BaseModel):
    id: str = Field(description="The display token's id")
    name: str


class DisplaysOut(BaseModel):
    office_id: str
    displays: list[DisplayOut]
    quiet_hours: list[QuietHours]
    test_every_s: int = Field(description="At most one test announcement per office this often")


class TestAnnouncementIn(Body):
    display: str | None = Field(
        None, max_length=64, description="One display token's id; null: every display"
    )


class TestAnnouncementOut(BaseModel):
    display: str | None
    announcements: list[AnnouncementRef]


@router.get(
    "/offices/{office_id}/displays",
    response_model=DisplaysOut,
    summary="The office's displays and their quiet hours",
    responses={404: {}},
)
async def list_displays(office_id: str, uow: UowDep, principal: DisplayAdmin) -> DisplaysOut:
    office = await display_admin.office_of(uow, principal, office_id)
    return DisplaysOut(
        office_id=office.id,
        displays=[DisplayOut(**d) for d in await display_admin.displays(uow, principal, office_id)],
        quiet_hours=display_admin.quiet_hours_of(office.quiet_hours),
        test_every_s=int(display_admin.TEST_EVERY.total_seconds()),
    )


@router.put(
    "/offices/{office_id}/quiet-hours",
    response_model=DisplaysOut,
    summary="Times (Japan time) when the office's displays show calls without sound",
    responses={404: {}, 422: {}},
)
async def set_quiet_hours(
    office_id: str,
    body: QuietHoursIn,
    uow: UowDep,
    principal: DisplayAdmin,
    resources: ResourcesDep,
) -> DisplaysOut:
    office = await display_admin.set_quiet_hours(
        uow,
        principal,
        office_id,
        [(r.start, r.end) for r in body.ranges],
        resources.hub.control,
    )
    return DisplaysOut(
        office_id=office.id,
        displays=[DisplayOut(**d) for d in await display_admin.displays(uow, principal, office_id)],
        quiet_hours=display_admin.quiet_hours_of(office.quiet_hours),
        test_every_s=int(display_admin.TEST_EVERY.total_seconds()),
    )


@router.post(
    "/offices/{office_id}/test-announcement",
    response_model=TestAnnouncementOut,
    status_code=202,
    summary="試験放送: the displays play the test phrase (never a call)",
    responses={404: {}, 422: {}, 429: {}},
)
async def test_announcement(
    office_id: str,
    body: TestAnnouncementIn,
    uow: UowDep,
    principal: DisplayAdmin,
    resources: ResourcesDep,
) -> TestAnnouncementOut:
    message = await display_admin.send_test(
        uow, principal, office_id, body.display, resources.hub.control
    )
    return TestAnnouncementOut(display=body.display, announcements=message.announcements)
