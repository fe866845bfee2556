"""窓口統計: a day's figures per office, category and counter, from each ticket's times. Pure."""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.appointments import AppointmentStatus
from app.domain.tickets import TicketStatus


@dataclass(frozen=True)
class TicketFacts:
    """One ticket of the day as the statistics see it."""

    office_id: str
    category_id: str
    category_prefix: str
    counter_label: str | None
    status: str
    issued_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    transfers: int = 0
    # The real wait to the first call minus the estimate shown at issue (seconds).
    estimate_error_s: int | None = None
    # Moves on to the next stop of a plan, counted at the stop left (``transfers``: staff
    # transfers only).
    next_stops: int = 0


@dataclass(frozen=True)
class AppointmentFacts:
    """One booking of the day: its category, status and slot; the counter that served its
    ticket, if any."""

    office_id: str
    category_id: str
    category_prefix: str
    counter_label: str | None
    status: str
    starts_at: datetime


COLUMNS = [
    "day",
    "office_id",
    "category",
    "counter",
    "tickets",
    "served",
    "no_shows",
    "cancelled",
    "transfers",
    "next_stops",
    "wait_median_s",
    "wait_p90_s",
    "wait_max_s",
    "service_median_s",
    "service_p90_s",
    "service_max_s",
    "appointments_kept",
    "appointments_missed",
    "estimates",
    "estimate_mae_s",
    "estimate_bias_s",
    "estimate_within_5min",
    "estimate_within_10min",
]
# The counter column of a category's row over all its counters.
ALL_COUNTERS = "*"


def percentile(values: Sequence[float], q: float) -> int | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100) in whole seconds; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1])


@dataclass
class _Group:
    tickets: int = 0
    served: int = 0
    no_shows: int = 0
    cancelled: int = 0
    transfers: int = 0
    next_stops: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    kept: int = 0
    missed: int = 0
    errors: list[int] = field(default_factory=list)


def estimate_figures(errors: Sequence[int]) -> dict[str, Any]:
    """How good the shown waits were: how many were checked at a call, the mean absolute
    error and the bias (mean signed error; positive: residents waited longer than shown) in
    whole seconds, and the shares within ±5 and ±10 minutes (0–1, three decimals)."""
    if not errors:
        return {
            "estimates": 0,
            "estimate_mae_s": None,
            "estimate_bias_s": None,
            "estimate_within_5min": None,
            "estimate_within_10min": None,
        }
    n = len(errors)
    return {
        "estimates": n,
        "estimate_mae_s": round(sum(abs(e) for e in errors) / n),
        "estimate_bias_s": round(sum(errors) / n),
        "estimate_within_5min": round(sum(abs(e) <= 300 for e in errors) / n, 3),
        "estimate_within_10min": round(sum(abs(e) <= 600 for e in errors) / n, 3),
    }


def daily_stats(
    day: str,
    tickets: Iterable[TicketFacts],
    appointments: Iterable[AppointmentFacts],
    *,
    now: datetime,
    grace_s: float,
) -> list[dict[str, Any]]:
    """Rows per (office, category, counter), and per (office, category) over all counters
    (``counter`` = ``*``), sorted. Wait: issue (or check-in) to the last call; service: start
    to finish of served tickets; estimates: see ``estimate_figures``. A ticket no counter
    called counts in the ``*`` row only. An
    appointment is kept when checked in, missed when never checked in and its slot's grace is
    over at ``now``; cancelled bookings count in neither."""
    groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)

    def add(office: str, prefix: str, counter: str | None) -> list[_Group]:
        keys = [(office, prefix, ALL_COUNTERS)]
        if counter is not None:
            keys.append((office, prefix, counter))
        return [groups[key] for key in keys]

    for t in tickets:
        for g in add(t.office_id, t.category_prefix, t.counter_label):
            g.tickets += 1
            g.transfers += t.transfers
            g.next_stops += t.next_stops
            if t.status == TicketStatus.DONE:
                g.served += 1
            elif t.status == TicketStatus.NO_SHOW:
                g.no_shows += 1
            elif t.status == TicketStatus.CANCELLED:
                g.cancelled += 1
            if t.called_at is not None:
                g.waits.append((t.called_at - t.issued_at).total_seconds())
            if t.estimate_error_s is not None:
                g.errors.append(t.estimate_error_s)
            if t.status == TicketStatus.DONE and t.started_at and t.finished_at:
                g.services.append((t.finished_at - t.started_at).total_seconds())
    for a in appointments:
        if a.status == AppointmentStatus.CHECKED_IN:
            for g in add(a.office_id, a.category_prefix, a.counter_label):
                g.kept += 1
        elif (
            a.status == AppointmentStatus.BOOKED and a.starts_at + timedelta(seconds=grace_s) < now
        ):
            for g in add(a.office_id, a.category_prefix, None):
                g.missed += 1
    rows = []
    for (office, prefix, counter), g in sorted(groups.items()):
        rows.append(
            {
                "day": day,
                "office_id": office,
                "category": prefix,
                "counter": counter,
                "tickets": g.tickets,
                "served": g.served,
                "no_shows": g.no_shows,
                "cancelled": g.cancelled,
                "transfers": g.transfers,
                "next_stops": g.next_stops,
                "wait_median_s": percentile(g.waits, 50),
                "wait_p90_s": percentile(g.waits, 90),
                "wait_max_s": percentile(g.waits, 100),
                "service_median_s": percentile(g.services, 50),
                "service_p90_s": percentile(g.services, 90),
                "service_max_s": percentile(g.services, 100),
                "appointments_kept": g.kept,
                "appointments_missed": g.missed,
                **estimate_figures(g.errors),
            }
        )
    return rows
