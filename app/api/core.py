"""Approved records for the city's core (住基) system, in the order they were approved."""

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.services.core_feed import FeedEntry, page_after

router = APIRouter(prefix="/core", tags=["core system"])
Core = Caller(Role.CORE)


class ApprovedRecord(BaseModel):
    seq: int
    application_id: str
    status: Literal["approved", "withdrawn"] = Field(
        description="`approved`: import this record (a corrected one replaces the earlier import); "
        "`withdrawn`: an application approved earlier was withdrawn (取下げ), no personal data"
    )
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


def _record(entry: FeedEntry) -> ApprovedRecord:
    return ApprovedRecord(
        seq=entry.seq,
        application_id=entry.application_id,
        procedure=entry.procedure,
        status=entry.status,  # type: ignore[arg-type]
        approved_at=entry.decided_at,
        withdrawn_at=entry.withdrawn_at,
        received_at=entry.received_at,
        applicant=entry.applicant,
        values=entry.values,
    )


@router.get(
    "/approved",
    response_model=ApprovedPage,
    summary="Approved (and later withdrawn) records after the cursor, in the order they "
    "were decided; an application appears once, at its latest position",
    responses={422: {}},
)
async def approved(
    uow: UowDep,
    principal: Core,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ApprovedPage:
    after = _seq(cursor)
    page, has_more = await page_after(uow, principal, after, limit)
    last = page[-1].seq if page else after
    return ApprovedPage(
        items=[_record(entry) for entry in page],
        next_cursor=_cursor(last or 0),
        has_more=has_more,
    )
