"""Where 'now' comes from, so rules stay deterministic under test."""

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def business_day(moment: datetime, tz: ZoneInfo = TOKYO) -> date:
    """The counter's business day of a moment: the calendar date in the office's time zone."""
    return moment.astimezone(tz).date()


class ScaledClock:
    """A clock that starts at ``start`` and runs ``scale`` times faster than the real one: a
    replayed day (clients/bench/estimates.py) passes in minutes. Development only."""

    def __init__(self, start: datetime, scale: float, real: Clock | None = None) -> None:
        self._real = real or SystemClock()
        self._origin = self._real.now()
        self._start = start
        self._scale = scale

    def now(self) -> datetime:
        return self._start + (self._real.now() - self._origin) * self._scale
