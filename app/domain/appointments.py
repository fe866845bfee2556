"""来庁予約 (appointments): opening hours, slots on the business calendar, confirmation codes
and what a resident may leave with a booking. Pure: no I/O."""

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.clock import TOKYO
from app.domain.deadlines import Calendar
from app.domain.errors import InvalidInput


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AppointmentHours:
    """One category's appointment hours at one office, on every day the counters are open:
    slots of ``slot_minutes`` from ``opens_at`` until ``closes_at``, each with ``seats``
    bookings (the counters given to appointments; the others stay for walk-ins)."""

    opens_at: time
    closes_at: time
    slot_minutes: int
    seats: int


def check_hours(hours: AppointmentHours) -> None:
    """Refuse hours that make no slot or make no sense (problem+json with the field)."""
    if not 5 <= hours.slot_minutes <= 240:
        raise InvalidInput.field(
            "slot_minutes", "out_of_range", "枠の長さは5〜240分です (slot length: 5–240 minutes)"
        )
    if not 1 <= hours.seats <= 50:
        raise InvalidInput.field(
            "seats", "out_of_range", "枠の定員は1〜50です (seats per slot: 1–50)"
        )
    opens = hours.opens_at.hour * 60 + hours.opens_at.minute
    closes = hours.closes_at.hour * 60 + hours.closes_at.minute
    if closes - opens < hours.slot_minutes:
        raise InvalidInput.field(
            "closes_at",
            "no_slot",
            "受付時間内に枠がありません (closing time leaves no whole slot)",
        )


def day_slots(
    day: date, hours: AppointmentHours, calendar: Calendar, tz: ZoneInfo = TOKYO
) -> list[datetime]:
    """The slots' start times (UTC) of ``day``: none on a closed day (weekends, holidays,
    12/29–1/3, local closures); a slot that would end after closing is not offered."""
    if calendar.is_closed(day):
        return []
    start = datetime.combine(day, hours.opens_at, tz)
    end = datetime.combine(day, hours.closes_at, tz)
    step = timedelta(minutes=hours.slot_minutes)
    slots = []
    while start + step <= end:
        slots.append(start.astimezone(UTC))
        start += step
    return slots


def check_slot(
    starts_at: datetime,
    hours: AppointmentHours,
    calendar: Calendar,
    now: datetime,
    days_ahead: int,
    tz: ZoneInfo = TOKYO,
) -> datetime:
    """``starts_at`` as one of its day's slots (UTC), or 422 naming ``starts_at``: a slot
    that has begun, one more than ``days_ahead`` days ahead, on a closed day, or no slot's
    start."""
    if starts_at.tzinfo is None:
        raise InvalidInput.field(
            "starts_at", "no_timezone", "時刻にタイムゾーンが必要です (time needs a UTC offset)"
        )
    if starts_at <= now:
        raise InvalidInput.field(
            "starts_at", "in_the_past", "過ぎた枠は予約できません (that slot has begun)"
        )
    if starts_at > now + timedelta(days=days_ahead + 1):
        raise InvalidInput.field(
            "starts_at",
            "too_far_ahead",
            f"予約は{days_ahead}日先までです (bookings open {days_ahead} days ahead)",
        )
    day = starts_at.astimezone(tz).date()
    if calendar.is_closed(day):
        raise InvalidInput.field(
            "starts_at", "closed_day", "この日は閉庁日です (the office is closed that day)"
        )
    wanted = starts_at.astimezone(UTC)
    if wanted not in day_slots(day, hours, calendar, tz):
        raise InvalidInput.field(
            "starts_at", "not_a_slot", "予約枠の開始時刻ではありません (not the start of a slot)"
        )
    return wanted


# Confirmation codes: 10 characters of Crockford's base32 (no I, L, O, U), shown in groups of
# five; read back case-blind, with or without the hyphen, O as 0 and I/L as 1.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10


def format_code(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def read_code(text: str) -> str | None:
    """The code as stored (10 characters) or None when it cannot be one."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def check_initial(initial: str) -> str:
    """A name initial exactly as given (never normalised): one letter or kana, nothing more."""
    if len(initial) != 1 or not unicodedata.category(initial).startswith("L"):
        raise InvalidInput.field(
            "initial",
            "not_an_initial",
            "お名前の頭文字を1文字だけ入力してください (one letter: the initial of your name)",
        )
    return initial


def code_hash(code: str) -> str:
    """What is stored of a confirmation code (as ``read_code`` gives it)."""
    return hashlib.sha256(code.encode()).hexdigest()
