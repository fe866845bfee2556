"""The payment schedule of an approved 児童手当 claim (DOMAIN.md §7.20), for city staff."""

from typing import Any

from app.domain.applications import ApplicationStatus
from app.domain.clock import business_day
from app.domain.deadlines import Calendar
from app.domain.payments import claim_schedule
from app.settings import Settings
from app.storage.tables import Application

CLAIM = "child_allowance.claim"


def payment_schedule(application: Application, settings: Settings) -> dict[str, Any] | None:
    """The schedule once the claim is recognised (認定); None for anything else."""
    if application.procedure != CLAIM or application.status != ApplicationStatus.APPROVED:
        return None
    return claim_schedule(
        application.values,
        business_day(application.received_at),
        calendar=Calendar(),
        day=settings.child_allowance.payment_day,
    )
