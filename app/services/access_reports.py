"""Access reports for supervisors (DOMAIN.md §7.12): night/holiday access, failed sign-ins,
bulk views and every export. Reading a report is itself written to the access log."""

import heapq
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.access_reports import (
    EXPORT_ACTIONS,
    VIEW_ACTIONS,
    Access,
    Burst,
    Export,
    OpeningHours,
    ReportKind,
    bulk_bursts,
    exports,
    is_after_hours,
)
from app.domain.deadlines import Calendar
from app.domain.errors import InvalidInput
from app.domain.roles import Principal
from app.services.access import record_access
from app.services.stats import actor_details
from app.services.uow import UnitOfWork
from app.storage import access_reports as store

# The columns of every report, in this order (CSV header, JSON keys).
COLUMNS = (
    "kind",
    "at",
    "until",
    "person_id",
    "person_name",
    "role",
    "terminal",
    "target",
    "function",
    "records",
    "my_number_shown",
    "reason",
)


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    start: datetime
    end: datetime
    rows: list[dict[str, Any]]
    truncated: bool


def _row(kind: str, at: datetime, **values: Any) -> dict[str, Any]:
    return {**dict.fromkeys(COLUMNS), "kind": kind, "at": at, **values}


async def _night(
    uow: UnitOfWork, code: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    settings = uow.settings.access_reports
    hours = OpeningHours(settings.opens_at, settings.closes_at)
    calendar = Calendar()
    rows: list[dict[str, Any]] = []
    async for access in store.accesses(uow.session, code, start, end):
        if not is_after_hours(access.at, hours, calendar):
            continue
        rows.append(
            _row(
                "night",
                access.at,
                person_id=access.actor_id,
                role=access.actor_role,
                terminal=access.terminal,
                target=f"{access.entity}:{access.entity_id}",
                function=access.action,
                records=1,
                my_number_shown=access.my_number_shown,
            )
        )
        if len(rows) > limit:
            break
    return rows


async def _bursts(
    views: AsyncIterator[Access], records: int, window: timedelta
) -> AsyncIterator[Burst]:
    """Bursts person by person, holding one person's views at a time."""
    person: list[Access] = []
    async for access in views:
        if person and person[-1].actor_id != access.actor_id:
            for burst in bulk_bursts(person, limit=records, window=window):
                yield burst
            person = []
        person.append(access)
    for burst in bulk_bursts(person, limit=records, window=window):
        yield burst


async def _exports(taken: AsyncIterator[Access]) -> AsyncIterator[Export]:
    """Exports request by request, holding one request's rows at a time."""
    group: list[Access] = []
    async for access in taken:
        if group and (access.actor_id, access.at) != (group[0].actor_id, group[0].at):
            for export in exports(group):
                yield export
            group = []
        group.append(access)
    for export in exports(group):
        yield export


async def _bulk(
    uow: UnitOfWork, code: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    settings = uow.settings.access_reports
    views = store.accesses(uow.session, code, start, end, actions=VIEW_ACTIONS, by_person=True)
    bursts = [
        _row(
            "bulk_view",
            b.start,
            until=b.end,
            person_id=b.actor_id,
            role=b.actor_role,
            terminal=" ".join(b.terminals) or None,
            target=f"{b.records} records",
            function=" ".join(b.functions),
            records=b.records,
            reason=f"{b.views} views of {b.records} records in "
            f"{settings.bulk_window_min} min (limit {settings.bulk_records})",
        )
        async for b in _bursts(
            views, settings.bulk_records, timedelta(minutes=settings.bulk_window_min)
        )
    ]
    taken = store.accesses(uow.session, code, start, end, actions=EXPORT_ACTIONS)
    out = [
        _row(
            "export",
            e.at,
            person_id=e.actor_id,
            role=e.actor_role,
            terminal=e.terminal,
            target=e.target,
            function=e.action,
            records=e.records,
            my_number_shown=e.my_number_shown,
        )
        async for e in _exports(taken)
    ]
    merged = heapq.merge(sorted(bursts, key=lambda r: r["at"]), out, key=lambda r: r["at"])
    return list(merged)[: limit + 1]


async def _failed(
    uow: UnitOfWork, code: str, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    events = await store.failed_sign_ins(uow.session, code, start, end, limit + 1)
    return [
        _row(
            "failed_sign_in",
            e.at,
            person_id=None if e.entity_id.startswith("unknown:") else e.entity_id,
            target=str((e.data or {}).get("staff_id", "")),
            function="sign_in",
            reason=str((e.data or {}).get("reason", "")),
        )
        for e in events
    ]


READERS = {ReportKind.NIGHT: _night, ReportKind.BULK: _bulk, ReportKind.FAILED_SIGN_IN: _failed}


async def access_report(
    uow: UnitOfWork,
    principal: Principal,
    kind: ReportKind,
    start: datetime,
    end: datetime,
    *,
    limit: int = 1000,
) -> Report:
    """The report of ``kind`` for ``start <= at < end``, at most ``limit`` rows, oldest first."""
    for name, moment in (("from", start), ("to", end)):
        if moment.tzinfo is None:
            raise InvalidInput.field(
                name, "timezone_required", "時差を付けてください (give a UTC offset, e.g. +09:00)"
            )
    if end <= start:
        raise InvalidInput.field(
            "to", "before_from", "終了は開始より後にしてください (to must be after from)"
        )
    code = principal.municipality_code
    rows = await READERS[kind](uow, code, start, end, limit)
    names = await actor_details(uow, code, {r["person_id"] for r in rows if r["person_id"]})
    for row in rows:
        known = names.get(row["person_id"] or "")
        row["person_name"] = known[0] if known else None
    record_access(
        uow,
        principal,
        action="report",
        entity="access_report",
        entity_id=kind,
        detail={"from": start.isoformat(), "to": end.isoformat(), "rows": min(len(rows), limit)},
    )
    return Report(kind, start, end, rows[:limit], len(rows) > limit)
