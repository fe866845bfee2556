"""What the city's core (住基) system imports: approved records after a position in the feed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.applications import ApplicationStatus
from app.domain.roles import Principal
from app.services.access import record_access
from app.services.uow import UnitOfWork
from app.storage import core_feed as core_feed_store


@dataclass(frozen=True)
class FeedEntry:
    seq: int
    application_id: str
    procedure: str
    status: str
    decided_at: datetime | None
    withdrawn_at: datetime | None
    received_at: datetime
    applicant: dict[str, Any]
    values: dict[str, Any]


async def page_after(
    uow: UnitOfWork, principal: Principal, after: int, limit: int
) -> tuple[list[FeedEntry], bool]:
    """Up to ``limit`` entries after ``after``, and whether more follow. Each approved record
    handed over is access-logged; a withdrawn one is listed without its personal data."""
    rows = await core_feed_store.list_after(
        uow.session, principal.municipality_code, after, limit + 1
    )
    page = rows[:limit]
    for application in page:
        if application.status == ApplicationStatus.APPROVED:
            record_access(
                uow,
                principal,
                action="export",
                entity="application",
                entity_id=application.id,
                my_number_shown=application.has_my_number,
                detail={"to": "core"},
            )
    return [_entry(a) for a in page], len(rows) > limit


def _entry(a: Any) -> FeedEntry:
    withdrawn = a.status == ApplicationStatus.WITHDRAWN
    return FeedEntry(
        seq=a.core_seq or 0,
        application_id=a.id,
        procedure=a.procedure,
        status=a.status,
        decided_at=a.decided_at,
        withdrawn_at=a.updated_at if withdrawn else None,
        received_at=a.received_at,
        applicant={} if withdrawn else a.applicant,
        values={} if withdrawn else a.values,
    )
