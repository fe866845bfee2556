"""DOMAIN.md §7.12 analyses: night/holiday access, bulk views and exports (標準仕様書 10.2)."""

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from app.domain.access_reports import (
    Access,
    OpeningHours,
    bulk_bursts,
    exports,
    is_after_hours,
)
from app.domain.deadlines import Calendar

JST = timezone(timedelta(hours=9))
HOURS = OpeningHours(time(8, 30), time(17, 15))
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=JST)  # a Thursday


@pytest.mark.parametrize(
    ("moment", "after_hours"),
    [
        (datetime(2026, 12, 3, 10, 0, tzinfo=JST), False),
        (datetime(2026, 12, 3, 8, 30, tzinfo=JST), False),  # opening minute
        (datetime(2026, 12, 3, 8, 29, 59, tzinfo=JST), True),
        (datetime(2026, 12, 3, 17, 15, tzinfo=JST), True),  # closing minute: closed
        (datetime(2026, 12, 3, 17, 14, 59, tzinfo=JST), False),
        (datetime(2026, 12, 3, 0, 30, tzinfo=UTC), False),  # 09:30 in Japan
        (datetime(2026, 12, 3, 14, 0, tzinfo=UTC), True),  # 23:00 in Japan
        (datetime(2026, 12, 5, 10, 0, tzinfo=JST), True),  # Saturday
        (datetime(2026, 11, 23, 10, 0, tzinfo=JST), True),  # 勤労感謝の日 (a Monday)
        (datetime(2026, 12, 29, 10, 0, tzinfo=JST), True),  # year-end closure (a Tuesday)
        (datetime(2027, 1, 4, 10, 0, tzinfo=JST), False),  # first open day of 2027
    ],
)
def test_night_and_holiday_access_uses_the_counter_calendar(
    moment: datetime, after_hours: bool
) -> None:
    assert is_after_hours(moment, HOURS, Calendar()) is after_hours


def view(minutes: float, record: str, actor: str = "p1", action: str = "view") -> Access:
    return Access(
        T0 + timedelta(minutes=minutes),
        actor,
        "operator",
        action,
        "application",
        record,
        f"s-{actor}",
        False,
    )


def test_more_than_the_limit_of_records_in_the_window_is_one_burst() -> None:
    rows = [view(i, f"a{i}") for i in range(4)]  # 4 records in 3 minutes, limit 3
    [burst] = bulk_bursts(rows, limit=3, window=timedelta(minutes=10))
    assert (burst.actor_id, burst.records, burst.views) == ("p1", 4, 4)
    assert (burst.start, burst.end, burst.terminals) == (rows[0].at, rows[-1].at, ("s-p1",))


def test_the_limit_itself_and_reopening_the_same_record_are_not_bulk() -> None:
    at_limit = [view(i, f"a{i}") for i in range(3)]
    same_again = [view(i, "a0") for i in range(30)]
    assert list(bulk_bursts(at_limit + same_again, limit=3, window=timedelta(minutes=10))) == []


def test_records_spread_beyond_the_window_are_not_bulk() -> None:
    rows = [view(i * 4, f"a{i}") for i in range(6)]  # one every 4 minutes: 3 per 10 minutes
    assert list(bulk_bursts(rows, limit=3, window=timedelta(minutes=10))) == []
    [burst] = bulk_bursts(rows, limit=2, window=timedelta(minutes=10))
    assert (burst.records, burst.start, burst.end) == (6, rows[0].at, rows[-1].at)


def test_two_bursts_apart_and_two_people_are_reported_separately() -> None:
    first = [view(i, f"a{i}") for i in range(4)]
    later = [view(60 + i, f"b{i}") for i in range(4)]
    other = [view(i, f"c{i}", actor="p2") for i in range(4)]
    bursts = list(bulk_bursts(first + later + other, limit=3, window=timedelta(minutes=10)))
    assert [(b.actor_id, b.start) for b in bursts] == [
        ("p1", first[0].at),
        ("p1", later[0].at),
        ("p2", other[0].at),
    ]


def test_exports_are_listed_once_per_request_and_views_never() -> None:
    page = [view(0, f"a{i}", actor="core", action="export") for i in range(3)]
    download = [view(5, "batch-1", actor="vendor", action="vendor_download")]
    found = list(exports([*page, view(1, "x"), *download]))
    assert [(e.actor_id, e.records, e.target) for e in found] == [
        ("core", 3, "application ×3"),
        ("vendor", 1, "batch-1"),
    ]
