"""Service minutes per step and procedure, fitted from the municipality's own event log."""

from datetime import UTC, datetime, timedelta
from statistics import median

from app.domain.applications import TaskKind
from app.domain.clock import TOKYO
from app.simulation.fitting import FULL_YEAR, LEAST, LogFit, Received, fit_log
from app.simulation.profile import Profile
from app.storage import whatif as whatif_store
from app.storage.uow import UnitOfWork

# Longer than a working day between claim and completion: the task was left overnight or
# its lease ran out; such spans say nothing about the work and are left out.
LONGEST_MINUTES = 8 * 60.0


async def fitted_minutes(
    uow: UnitOfWork, municipality_code: str, since: datetime, *, least: int = 5
) -> dict[str, dict[TaskKind, float]]:
    """The median minutes from claim to completion per procedure and step, where the log has
    at least ``least`` such spans (the median: robust to the odd task left open at lunch)."""
    spans: dict[tuple[str, str], list[float]] = {}
    for row in await whatif_store.step_times(uow.session, municipality_code, since):
        minutes = (row.completed_at - row.claimed_at).total_seconds() / 60
        if 0 < minutes <= LONGEST_MINUTES:
            spans.setdefault((row.procedure, row.kind), []).append(minutes)
    fitted: dict[str, dict[TaskKind, float]] = {}
    for (procedure, kind), values in sorted(spans.items()):
        if len(values) >= least and kind in TaskKind.__members__.values():
            fitted.setdefault(procedure, {})[TaskKind(kind)] = round(median(values), 2)
    return fitted


async def log_fit(
    uow: UnitOfWork,
    municipality_code: str,
    base: Profile,
    *,
    since: datetime | None = None,
    least: int = LEAST,
) -> LogFit:
    """``base`` with volumes and service times fitted from the municipality's own log (the
    last year by default); app/simulation/fitting.py states the rules."""
    now = uow.clock.now()
    start = since or now - timedelta(days=FULL_YEAR)
    rows = await whatif_store.received(uow.session, municipality_code, start, now)
    received = [
        Received(row.procedure, row.channel, _local(row.received_at).date()) for row in rows
    ]
    spans: dict[tuple[str, str], list[float]] = {}
    for row in await whatif_store.step_times(uow.session, municipality_code, start):
        minutes = (row.completed_at - row.claimed_at).total_seconds() / 60
        if 0 < minutes <= LONGEST_MINUTES:
            spans.setdefault((row.procedure, row.kind), []).append(minutes)
    first = _local(start).date()
    last = _local(now).date() - timedelta(days=1)  # the last whole day
    return fit_log(base, received, spans, first, max(first, last), least=least)


def _local(moment: datetime) -> datetime:
    """A stored moment in JST (SQLite gives UTC back without its offset)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(TOKYO)
