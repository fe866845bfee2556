"""Approved records for the city's core (住基) system, in the order they were approved."""

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from app.api.deps import Caller, UowDep
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.services.access import record_access
from app.storage.tables import Application

router = APIRouter(prefix="/core", tags=["core system"])
Core = Caller(Role.CORE)


class ApprovedRecord(BaseModel):
    seq: int
    application_id: str
    procedure: str
    approved_at: datetime | None
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


@router.get("/approved", response_model=ApprovedPage,
            summary="Approved records after the cursor, in approval order", responses={422: {}})
async def approved(
    uow: UowDep, principal: Core,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ApprovedPage:
    after = _seq(cursor)
    rows = list((await uow.session.execute(
        select(Application)
        .where(Application.municipality_code == principal.municipality_code,
               Application.core_seq > after)  # type: ignore[operator]
        .order_by(Application.core_seq).limit(limit + 1)  # type: ignore[arg-type]
    )).scalars())
    page = rows[:limit]
    for application in page:
        record_access(uow, principal, action="export", entity="application", entity_id=application.id,
                      my_number_shown=application.has_my_number, detail={"to": "core"})
    last = page[-1].core_seq if page else after
    return ApprovedPage(
        items=[ApprovedRecord(
            seq=a.core_seq or 0, application_id=a.id, procedure=a.procedure, approved_at=a.decided_at,
            received_at=a.received_at, applicant=a.applicant, values=a.values,
        ) for a in page],
        next_cursor=_cursor(last or 0),
        has_more=len(rows) > limit,
    )
