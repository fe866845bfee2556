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
