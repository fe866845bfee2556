"""Analyses of the access log (DOMAIN.md §1.2 j1370, §7.12): night/holiday access, bulk views.

Pure: the rows come in, the findings go out. Failed sign-ins need no analysis (each is one).
"""

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.clock import TOKYO
from app.domain.deadlines import Calendar


class ReportKind(StrEnum):
    NIGHT = "night"
    FAILED_SIGN_IN = "failed_sign_in"
    BULK = "bulk"


# What opens a resident's record (a screen, a task, a scan); what takes records out in bulk.
VIEW_ACTIONS = ("view", "work")
EXPORT_ACTIONS = ("export", "vendor_download")


@dataclass(frozen=True)
class OpeningHours:
    opens_at: time
    closes_at: time


@dataclass(frozen=True)
class Access:
    """One access-log row, as the reports need it."""

    at: datetime
    actor_id: str
    actor_role: str
    action: str
    entity: str
    entity_id: str
    terminal: str | None
    my_number_shown: bool


def is_after_hours(
    at: datetime, hours: OpeningHours, calendar: Calendar, tz: ZoneInfo = TOKYO
) -> bool:
    """標準仕様書 10.2 (j1370) 夜間・休日: on a day the counters are closed, or outside hours."""
    local = at.astimezone(tz)
    if calendar.is_closed(local.date()):
        return True
    return not hours.opens_at <= local.time() < hours.closes_at


@dataclass(frozen=True)
class Burst:
    """One person viewing more than the limit of records within the window (大量照会)."""

    actor_id: str
    actor_role: str
    start: datetime
    end: datetime
    records: int  # distinct records opened from start to end
    views: int
    terminals: tuple[str, ...]
    functions: tuple[str, ...]


def _burst(rows: list[Access]) -> Burst:
    return Burst(
        actor_id=rows[0].actor_id,
        actor_role=rows[0].actor_role,
        start=rows[0].at,
        end=rows[-1].at,
        records=len({(r.entity, r.entity_id) for r in rows}),
        views=len(rows),
        terminals=tuple(sorted({r.terminal for r in rows if r.terminal})),
        functions=tuple(sorted({r.action for r in rows})),
    )


def _person_bursts(rows: list[Access], limit: int, window: timedelta) -> Iterator[Burst]:
    counts: Counter[tuple[str, str]] = Counter()
    inside: deque[int] = deque()
    span: tuple[int, int] | None = None  # first and last index of the burst being grown
    for index, row in enumerate(rows):
        inside.append(index)
        counts[(row.entity, row.entity_id)] += 1
        while rows[inside[0]].at < row.at - window:
            gone = rows[inside.popleft()]
            counts[(gone.entity, gone.entity_id)] -= 1
            if not counts[(gone.entity, gone.entity_id)]:
                del counts[(gone.entity, gone.entity_id)]
        if len(counts) <= limit:
            continue
        if span is not None and inside[0] <= span[1]:
            span = (span[0], index)  # overlapping windows are one burst
        else:
            if span is not None:
                yield _burst(rows[span[0] : span[1] + 1])
            span = (inside[0], index)
    if span is not None:
        yield _burst(rows[span[0] : span[1] + 1])


def bulk_bursts(accesses: Iterable[Access], *, limit: int, window: timedelta) -> Iterator[Burst]:
    """More than ``limit`` distinct records viewed by one person within ``window`` (大量照会).

    ``accesses``: views in order of person, then time. Overlapping windows make one burst.
    """
    person: list[Access] = []
    for access in accesses:
        if access.action not in VIEW_ACTIONS:
            continue
        if person and person[-1].actor_id != access.actor_id:
            yield from _person_bursts(person, limit, window)
            person = []
        person.append(access)
    if person:
        yield from _person_bursts(person, limit, window)


@dataclass(frozen=True)
class Export:
    """One export or batch download: its access rows share the person, moment and function."""

    actor_id: str
    actor_role: str
    at: datetime
    action: str
    terminal: str | None
    records: int
    my_number_shown: bool
    target: str


def exports(accesses: Iterable[Access]) -> Iterator[Export]:
    """Every export and vendor download (一括出力), one per request, in the order given."""
    group: list[Access] = []

    def done() -> Export:
        first = group[0]
        target = first.entity_id if len(group) == 1 else f"{first.entity} ×{len(group)}"
        return Export(
            first.actor_id,
            first.actor_role,
            first.at,
            first.action,
            first.terminal,
            len(group),
            any(a.my_number_shown for a in group),
            target,
        )

    for access in accesses:
        if access.action not in EXPORT_ACTIONS:
            continue
        key = (access.actor_id, access.at, access.action, access.terminal)
        if group and key != (group[0].actor_id, group[0].at, group[0].action, group[0].terminal):
            yield done()
            group = []
        group.append(access)
    if group:
        yield done()
