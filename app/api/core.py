"""Approved records for the city's core (住基) system, in the order they were approved."""

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import Caller, UowDep
from app.domain.applications import IN_CORE_FEED, ApplicationStatus
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.services.access import record_access
from app.storage.tables import Application

router = APIRouter(prefix="/core", tags=["core system"])
Core = Caller(Role.CORE)


class ApprovedRecord(BaseModel):
    seq: int
    application_id: str
    status: Literal["approved", "withdrawn"] = Field(
        description="`approved`: import this record (a corrected one replaces the earlier import); "
        "`withdrawn`: an application approved earlier was withdrawn (取下げ), no personal data")
    procedure: str
    approved_at: datetime | None
    withdrawn_at: datetime | None = None
    received_at: datetime
    applicant: dict[str, Any]
    values: dict[str, Any]


class ApprovedPage(BaseModel):
    items: list[ApprovedRecord]
    next_cursor: str
    has_more: bool


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"core:{seq}".encode()).decode()


def _seq(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "core" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput.field("cursor", "invalid_cursor", "カーソルが不正です (invalid cursor)")


def _record(a: Application) -> ApprovedRecord:
    withdrawn = a.status == ApplicationStatus.WITHDRAWN
    return ApprovedRecord(
        seq=a.core_seq or 0, application_id=a.id, procedure=a.procedure,
        status=a.status,  # type: ignore[arg-type]
        approved_at=a.decided_at, withdrawn_at=a.updated_at if withdrawn else None,
        received_at=a.received_at,
        applicant={} if withdrawn else a.applicant, values={} if withdrawn else a.values,
    )


@router.get("/approved", response_model=ApprovedPage,
            summary="Approved (and later withdrawn) records after the cursor, in the order they "
            "were decided; an application appears once, at its latest position",
            responses={422: {}})
async def approved(
    uow: UowDep, principal: Core,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ApprovedPage:
    after = _seq(cursor)
    rows = list((await uow.session.execute(
        select(Application)
        .where(Application.municipality_code == principal.municipality_code,
               Application.core_seq > after,  # type: ignore[operator]
               # Reopened for correction: out of the feed until approved again.
               Application.status.in_(IN_CORE_FEED))  # type: ignore[attr-defined]
        .order_by(Application.core_seq).limit(limit + 1)  # type: ignore[arg-type]
    )).scalars())
    page = rows[:limit]
    for application in page:
        if application.status == ApplicationStatus.APPROVED:
            record_access(uow, principal, action="export", entity="application",
                          entity_id=application.id, my_number_shown=application.has_my_number,
                          detail={"to": "core"})
    last = page[-1].core_seq if page else after
    return ApprovedPage(
        items=[_record(a) for a in page],
        next_cursor=_cursor(last or 0),
        has_more=len(rows) > limit,
    )
