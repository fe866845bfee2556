"""Lifecycle of a lobby ticket, from issue to done, and how its number reads. Pure: no I/O."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.errors import InvalidInput, InvalidTransition, NoNextStop


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
    # A planned move to the next stop of a plan (not a staff transfer): the stop is finished
    # and the ticket waits at the next category.
    NEXT_STOP = "next_stop"
    HOLD = "hold"
    RESUME = "resume"
    UNDO_CALL = "undo_call"
    # A plan of stops changed by staff: the next stop dropped, or a stop added. The ticket keeps
    # its status, number, place and counter.
    SKIP_STOP = "skip_stop"
    ADD_STOP = "add_stop"


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
    (TicketStatus.SERVING, TicketAction.NEXT_STOP): TicketStatus.WAITING,
    # A resident marked absent who turns up late is called again by the same counter.
    (TicketStatus.NO_SHOW, TicketAction.RECALL): TicketStatus.CALLED,
    (TicketStatus.CALLED, TicketAction.HOLD): TicketStatus.HELD,
    (TicketStatus.SERVING, TicketAction.HOLD): TicketStatus.HELD,
    (TicketStatus.HELD, TicketAction.RESUME): TicketStatus.CALLED,
    (TicketStatus.HELD, TicketAction.CANCEL): TicketStatus.CANCELLED,
    # A number called by mistake goes back to waiting at its old place (within a short window).
    (TicketStatus.CALLED, TicketAction.UNDO_CALL): TicketStatus.WAITING,
    # The plan of a ticket still in the lobby may change; its status stays.
    **{
        (status, action): status
        for status in (
            TicketStatus.WAITING,
            TicketStatus.CALLED,
            TicketStatus.SERVING,
            TicketStatus.HELD,
        )
        for action in (TicketAction.SKIP_STOP, TicketAction.ADD_STOP)
    },
}
# Actions that change the plan of stops only: no lobby event, no change of queue.
PLAN_ACTIONS = frozenset({TicketAction.SKIP_STOP, TicketAction.ADD_STOP})

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


def allowed_actions(current: TicketStatus, stops: int = 0) -> frozenset[TicketAction]:
    """What a counter terminal may offer for a ticket in ``current`` with ``stops`` further
    stops planned (mirrors the API's 409s: nothing to skip without a next stop). Moving on to
    the next stop is what finishing a stop does, never an action of its own."""
    return frozenset(
        action
        for (status, action) in TRANSITIONS
        if status == current
        and action is not TicketAction.NEXT_STOP
        and (action is not TicketAction.SKIP_STOP or stops > 0)
    )


def skip_next_stop(stops: Sequence[str]) -> list[str]:
    """The plan without its next stop; raises NoNextStop if there is none."""
    if not stops:
        raise NoNextStop("次の窓口の予定がありません (the ticket has no next stop to skip)")
    return list(stops[1:])


def add_stop(
    stops: Sequence[str], category_id: str, current: str, *, at: int | None, most: int
) -> list[str]:
    """The plan with ``category_id`` inserted at ``at`` (0 = the next stop; None = last).

    Raises InvalidInput (field ``category`` or ``at``) when the plan is full, the category is
    the current one or already planned, or ``at`` is past the end."""
    if len(stops) >= most:
        raise InvalidInput.field(
            "category",
            "too_many_stops",
            f"次の窓口は {most} か所までです (at most {most} further stops)",
        )
    if category_id == current or category_id in stops:
        raise InvalidInput.field(
            "category", "already_planned", "この区分はすでに予定にあります (already in the plan)"
        )
    position = len(stops) if at is None else at
    if not 0 <= position <= len(stops):
        raise InvalidInput.field(
            "at", "out_of_range", f"0 から {len(stops)} で指定してください (0 to {len(stops)})"
        )
    return [*stops[:position], category_id, *stops[position:]]


# The printed number: the category's prefix, a hyphen and the day's sequence in at least three
# digits.
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


def estimate_error_s(
    issued_at: datetime, called_at: datetime, estimate_min: int | None
) -> int | None:
    """How far off the wait shown at issue was: the real wait to the first call minus the
    estimate, in seconds (negative: called sooner than shown); None without an estimate."""
    if estimate_min is None:
        return None
    return round((called_at - issued_at).total_seconds() - estimate_min * 60)


# The order counters call waiting tickets in, written once. Walk-in order: priority tickets
# first, then the longest waiting (``queued_at``: the issue time, or an appointment's check-in
# time; the id breaks ties). storage/tickets.py builds its ``CALL_ORDER_COLUMNS`` from these columns
# (name, descending) and ``next_to_call`` below merges appointments into it.
CALL_ORDER: tuple[tuple[str, bool], ...] = (
    ("is_priority", True),
    ("queued_at", False),
    ("id", False),
)


@dataclass(frozen=True)
class AppointmentWindow:
    """When a checked-in appointment counts as on time: from ``early_s`` before its slot to
    ``grace_s`` after it; ``max_passes``: how many appointments may go before any one waiting
    ticket that came earlier in walk-in order (K)."""

    early_s: float = 600.0
    grace_s: float = 600.0
    max_passes: int = 2


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the call order sees it. ``slot_at``: the appointment's slot (None
    for a walk-in); ``passed_by``: appointments already called before it out of walk-in order."""

    id: str
    queued_at: datetime
    is_priority: bool = False
    slot_at: datetime | None = None
    passed_by: int = 0


@dataclass(frozen=True)
class NextCall:
    """The ticket to call and the waiting tickets it goes before out of walk-in order (each
    has its ``passed_by`` raised by one)."""

    ticket_id: str
    passed: tuple[str, ...] = ()


def walk_in_key(ticket: Waiting) -> tuple[object, ...]:
    """A ticket's place in walk-in order (``CALL_ORDER`` as a sort key)."""
    key: list[object] = []
    for name, descending in CALL_ORDER:
        value = getattr(ticket, name)
        key.append(not value if descending else value)
    return tuple(key)


def on_time(ticket: Waiting, now: datetime, window: AppointmentWindow) -> bool:
    """Whether a checked-in appointment is within its window now (a walk-in never is)."""
    if ticket.slot_at is None:
        return False
    since_slot = (now - ticket.slot_at).total_seconds()
    return -window.early_s <= since_slot <= window.grace_s


def next_to_call(
    waiting: Sequence[Waiting], now: datetime, window: AppointmentWindow
) -> NextCall | None:
    """Who a counter that frees up calls, of the waiting tickets it may serve.

    1. A priority ticket waiting: the first in walk-in order (priority is never passed).
    2. Else an appointment on time (checked in, within ``[slot - early, slot + grace]``), the
       earliest slot first (then check-in time), provided no waiting ticket it would go before
       in walk-in order has already been passed ``max_passes`` times.
    3. Else the first in walk-in order. Walk-ins, and appointments checked in early or past
       their grace, take that order by their ``queued_at`` (issue or check-in time).
    """
    if not waiting:
        return None
    ordered = sorted(waiting, key=walk_in_key)
    head = ordered[0]
    if head.is_priority:
        return NextCall(head.id)
    due = sorted(
        (t for t in waiting if on_time(t, now, window)),
        key=lambda t: (t.slot_at, t.queued_at, t.id),
    )
    for appointment in due:
        mine = walk_in_key(appointment)
        passed = [t for t in ordered if walk_in_key(t) < mine]
        if all(t.passed_by < window.max_passes for t in passed):
            return NextCall(appointment.id, tuple(t.id for t in passed))
    return NextCall(head.id)
