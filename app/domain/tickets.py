"""Lifecycle of a lobby ticket, from issue to done, and how its number reads. Pure: no I/O."""

import math
import statistics
from datetime import datetime
from enum import StrEnum

from app.domain.errors import InvalidTransition


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    # Parked by the counter (papers to fetch, a phone call): off the counter and the display,
    # keeps its number and place until a counter resumes it.
    HELD = "held"


class TicketAction(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    HOLD = "hold"
    RESUME = "resume"
    UNDO_CALL = "undo_call"


# The whole lifecycle in one table; anything not listed is refused with 409.
TRANSITIONS: dict[tuple[TicketStatus, TicketAction], TicketStatus] = {
    (TicketStatus.WAITING, TicketAction.CALL): TicketStatus.CALLED,
    (TicketStatus.WAITING, TicketAction.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.WAITING, TicketAction.TRANSFER): TicketStatus.WAITING,
    (TicketStatus.CALLED, TicketAction.RECALL): TicketStatus.CALLED,
    (TicketStatus.CALLED, TicketAction.START): TicketStatus.SERVING,
    (TicketStatus.CALLED, TicketAction.NO_SHOW): TicketStatus.NO_SHOW,
    (TicketStatus.CALLED, TicketAction.CANCEL): TicketStatus.CANCELLED,
    (TicketStatus.CALLED, TicketAction.TRANSFER): TicketStatus.WAITING,
    (TicketStatus.SERVING, TicketAction.FINISH): TicketStatus.DONE,
    (TicketStatus.SERVING, TicketAction.TRANSFER): TicketStatus.WAITING,
    # A resident marked absent who turns up late is called again by the same counter.
    (TicketStatus.NO_SHOW, TicketAction.RECALL): TicketStatus.CALLED,
    (TicketStatus.CALLED, TicketAction.HOLD): TicketStatus.HELD,
    (TicketStatus.SERVING, TicketAction.HOLD): TicketStatus.HELD,
    (TicketStatus.HELD, TicketAction.RESUME): TicketStatus.CALLED,
    (TicketStatus.HELD, TicketAction.CANCEL): TicketStatus.CANCELLED,
    # A number called by mistake goes back to waiting at its old place (within a short window).
    (TicketStatus.CALLED, TicketAction.UNDO_CALL): TicketStatus.WAITING,
}

# Statuses in which a ticket still occupies a counter and shows on the lobby display.
AT_COUNTER = frozenset({TicketStatus.CALLED, TicketStatus.SERVING})
TERMINAL = frozenset({TicketStatus.DONE, TicketStatus.CANCELLED})


def next_status(current: TicketStatus, action: TicketAction) -> TicketStatus:
    """Where a ticket goes after ``action``; raises InvalidTransition if the rules forbid it."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(entity="ticket", current=current, action=action) from None


def seconds_left(since: datetime | None, now: datetime, window_s: float) -> int:
    """Whole seconds until ``window_s`` have passed since ``since`` (0 once they have)."""
    if since is None:
        return 0
    return max(0, math.ceil(window_s - (now - since).total_seconds()))


def undo_open(called_at: datetime | None, now: datetime, window_s: float) -> bool:
    """Whether a call made at ``called_at`` may still be taken back."""
    return called_at is not None and (now - called_at).total_seconds() <= window_s


def allowed_actions(current: TicketStatus) -> frozenset[TicketAction]:
    """What a counter terminal may offer for a ticket in ``current`` (mirrors the API's 409s)."""
    return frozenset(action for (status, action) in TRANSITIONS if status == current)


# The printed number: the category's prefix, a hyphen and the day's sequence in at least three
# digits. storage/numbering.py writes the same number in SQL from these two constants.
NUMBER_SEPARATOR = "-"
NUMBER_DIGITS = 3


def format_number(prefix: str, sequence: int) -> str:
    """The printed number: category prefix and a three-digit daily sequence, e.g. ``A-012``
    (``A-1000`` past 999: every digit is kept)."""
    return f"{prefix}{NUMBER_SEPARATOR}{sequence:0{NUMBER_DIGITS}d}"


def spoken_number(number: str) -> str:
    """How the display reads a number aloud: ``A-012`` → ``A12``."""
    prefix, _, digits = number.partition("-")
    return f"{prefix}{int(digits)}" if digits.isdigit() else number


def estimate_wait_minutes(
    *, ahead: int, recent_service_s: list[float], default_service_s: float, counters: int
) -> int:
    """Minutes until a resident with ``ahead`` people before them is called.

    Uses the median of recent service times (robust to one long 転入 case) spread over the
    counters that serve the category.
    """
    if ahead <= 0:
        return 0
    per_resident = statistics.median(recent_service_s) if recent_service_s else default_service_s
    return math.ceil(ahead * per_resident / max(1, counters) / 60)
