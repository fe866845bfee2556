"""Quiet hours of a lobby: times of day (Japan time) when the displays show and flash each call
but play no sound (lunch, a ceremony in the hall). Pure: no I/O.

Stored as ``"12:00-13:00,15:30-16:00"`` on the office; each range is [start, end) in minutes of
the day, start before end ("24:00" may end a range; a range never crosses midnight: the hall is
closed then, and two ranges say it if ever needed).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.domain.errors import InvalidInput

JST = timezone(timedelta(hours=9), "JST")
MAX_RANGES = 8
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True, order=True)
class QuietRange:
    start: int  # minutes after midnight, Japan time
    end: int

    def __str__(self) -> str:
        return f"{clock(self.start)}-{clock(self.end)}"


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes_of(value: str) -> int | None:
    """``"12:30"`` → 750; None for anything else than HH:MM (00:00–24:00)."""
    if not _TIME.match(value):
        return None
    hours, mins = value.split(":")
    return int(hours) * 60 + int(mins)


def validate(ranges: Sequence[tuple[str, str]]) -> list[QuietRange]:
    """The ranges as given (start, end), checked: each well formed, start before end, none
    overlapping another; sorted. Every fault is reported, by field."""
    errors: list[dict[str, str]] = []
    parsed: list[tuple[int, QuietRange]] = []
    if len(ranges) > MAX_RANGES:
        errors.append(
            _error("ranges", "too_many", f"{MAX_RANGES}件までです (at most {MAX_RANGES} ranges)")
        )
    for index, (start_text, end_text) in enumerate(ranges):
        start, end = minutes_of(start_text), minutes_of(end_text)
        if start is None or start == 24 * 60:
            errors.append(
                _error(f"ranges[{index}].start", "invalid_time", "時刻は HH:MM です (HH:MM)")
            )
        if end is None:
            errors.append(
                _error(f"ranges[{index}].end", "invalid_time", "時刻は HH:MM です (HH:MM)")
            )
        if start is None or end is None or start == 24 * 60:
            continue
        if end <= start:
            errors.append(
                _error(
                    f"ranges[{index}].end",
                    "end_not_after_start",
                    "終了は開始より後にしてください (the end must be after the start)",
                )
            )
            continue
        parsed.append((index, QuietRange(start, end)))
    ordered = sorted(parsed, key=lambda item: item[1])
    for (_, before), (index, after) in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            errors.append(
                _error(
                    f"ranges[{index}]",
                    "overlapping",
                    f"{before} と重なっています (overlaps {before})",
                )
            )
    if errors:
        raise InvalidInput("静音時間に誤りがあります (invalid quiet hours)", errors)
    return [quiet for _, quiet in ordered]


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def stored(ranges: Sequence[QuietRange]) -> str:
    return ",".join(str(quiet) for quiet in ranges)


def parse_stored(value: str) -> list[QuietRange]:
    """The office's stored ranges; anything unreadable is left out (never raises)."""
    found: list[QuietRange] = []
    for part in value.split(","):
        start_text, _, end_text = part.strip().partition("-")
        start, end = minutes_of(start_text), minutes_of(end_text)
        if start is not None and end is not None and start < end:
            found.append(QuietRange(start, end))
    return sorted(found)


def is_quiet(ranges: Sequence[QuietRange], at: datetime) -> bool:
    """True when ``at`` (aware) falls in one of the ranges, read in Japan time."""
    local = at.astimezone(JST)
    minute = local.hour * 60 + local.minute
    return any(quiet.start <= minute < quiet.end for quiet in ranges)
