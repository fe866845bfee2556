"""窓口統計: the day's lobby figures per office, category and counter (API and CLI)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.clock import business_day
from app.domain.estimates import estimate_report
from app.domain.lobby_stats import daily_stats
from app.domain.roles import Principal
from app.services import tickets as ticket_service
from app.storage import lobby_stats as store
from app.storage.uow import UnitOfWork


async def daily(
    uow: UnitOfWork, principal: Principal, *, day: date | None, office_id: str | None = None
) -> tuple[date, list[dict[str, Any]]]:
    """The day (today's business day when None) and its rows (app/domain/lobby_stats.py
    ``COLUMNS``) of the caller's municipality, or of one of its offices."""
    if office_id is not None:
        await ticket_service.get_office(uow, principal, office_id)
    zone = ZoneInfo(uow.settings.lobby.timezone)
    day = day or business_day(uow.now(), zone)
    try:
        start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
        end = start + timedelta(days=1)
    except OverflowError:  # year 1 or 9999: nothing was ever served there
        return day, []
    code = principal.municipality_code
    tickets = await store.tickets_of_day(uow.session, code, day, office_id)
    appointments = await store.appointments_of_day(uow.session, code, start, end, office_id)
    return day, daily_stats(
        day.isoformat(),
        tickets,
        appointments,
        now=uow.now(),
        grace_s=uow.settings.appointments.grace_s,
    )


async def estimates(
    uow: UnitOfWork, principal: Principal, *, day: date | None, office_id: str | None = None
) -> tuple[date, list[dict[str, Any]], list[dict[str, Any]]]:
    """The daily estimate report: the day, its rows per office, category and model
    (app/domain/estimates.py ``REPORT_COLUMNS``) and its rows per model and hour of issue."""
    if office_id is not None:
        await ticket_service.get_office(uow, principal, office_id)
    zone = ZoneInfo(uow.settings.lobby.timezone)
    day = day or business_day(uow.now(), zone)
    facts = await store.estimates_of_day(uow.session, principal.municipality_code, day, office_id)
    rows, hours = estimate_report(day.isoformat(), facts, zone)
    return day, rows, hours
