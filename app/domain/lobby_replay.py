"""The ``lobby_replay`` wait model: the office's lobby at issue time replayed forward. Pure.

The counters open and not paused each finish the resident they are serving (the category's
expected service time minus the time already spent, at least ``MIN_REMAINING_S``), then call
from the categories they serve, in the real call order (``next_to_call``: priority, walk-in
order, appointments on time), the waiting tickets of every category; each call takes the
category's expected service time, and a ticket with a plan of stops comes back to wait at its
next category (same place by ``queued_at``) when a stop is done. The replay runs until the new
ticket is called: that moment is the estimate.
"""

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from operator import attrgetter

from app.domain.tickets import (
    CALL_ORDER,
    AppointmentWindow,
    NextCall,
    Waiting,
    next_to_call,
)

# A resident already at a counter longer than expected still takes this long (seconds).
MIN_REMAINING_S = 60.0


@dataclass(frozen=True)
class LobbyTicket:
    """A ticket of the lobby: waiting, or at a counter (``stops``: the categories after this
    one; ``target_counter_id``: sent to one counter, only it calls the ticket)."""

    id: str
    category_id: str
    queued_at: datetime
    is_priority: bool = False
    slot_at: datetime | None = None
    passed_by: int = 0
    target_counter_id: str | None = None
    stops: tuple[str, ...] = ()


@dataclass(frozen=True)
class CounterNow:
    """An active counter: the categories it serves, whether it is paused, and the ticket at it
    (called or being served) since ``busy_since``."""

    id: str
    categories: frozenset[str]
    paused: bool = False
    at_counter: LobbyTicket | None = None
    busy_since: datetime | None = None


@dataclass(frozen=True)
class LobbyNow:
    """The office's lobby when a ticket is issued. ``service_s``: each category's expected
    service time (the mean of its recent ones, else its default)."""

    now: datetime
    waiting: Sequence[LobbyTicket]
    counters: Sequence[CounterNow]
    service_s: Mapping[str, float]
    window: AppointmentWindow = field(default_factory=AppointmentWindow)


def _serves(counter: CounterNow, ticket: LobbyTicket) -> bool:
    if ticket.target_counter_id is not None:
        return ticket.target_counter_id == counter.id
    return ticket.category_id in counter.categories


def _waiting(ticket: LobbyTicket) -> Waiting:
    return Waiting(
        ticket.id, ticket.queued_at, ticket.is_priority, ticket.slot_at, ticket.passed_by
    )


# Called at each moment a counter frees up in the replay, with what it calls (None: nobody it
# serves is waiting); True stops the replay.
OnFree = Callable[[float, CounterNow, NextCall | None], bool]


def _replay(lobby: LobbyNow, counters: Sequence[CounterNow], on_free: OnFree) -> None:
    """Replay the lobby forward on ``counters`` until ``on_free`` says stop or nobody is left."""
    now = lobby.now
    service_s = lobby.service_s
    default_s = max(service_s.values(), default=0.0)
    # Kept in walk-in order: without appointments waiting, a counter calls the first it serves.
    waiting = _in_walk_in_order(lobby.waiting)
    appointments = sum(t.slot_at is not None for t in waiting.values())
    # (free at, counter index): when each calling counter next calls.
    free: list[tuple[float, int]] = []
    # (back at, ticket id, ticket): residents coming back to wait at their next stop.
    coming: list[tuple[float, str, LobbyTicket]] = []
    for index, counter in enumerate(counters):
        at = 0.0
        current = counter.at_counter
        if current is not None and not counter.paused:
            spent = (now - (counter.busy_since or now)).total_seconds()
            at = max(MIN_REMAINING_S, service_s.get(current.category_id, default_s) - spent)
            if current.stops:
                _come_back(coming, at, current)
        heapq.heappush(free, (at, index))
    heappop, heappush = heapq.heappop, heapq.heappush
    while free:
        at, index = heappop(free)
        if coming and coming[0][0] <= at:
            while coming and coming[0][0] <= at:
                _back_at, _id, back = heappop(coming)
                waiting[back.id] = back
                appointments += back.slot_at is not None
            waiting = _in_walk_in_order(waiting.values())
        counter = counters[index]
        choice: NextCall | None
        if appointments:
            mine = [_waiting(t) for t in waiting.values() if _serves(counter, t)]
            choice = next_to_call(mine, now + timedelta(seconds=at), lobby.window)
        else:
            # ``next_to_call`` without appointments: the first in walk-in order (``_serves``).
            choice = None
            counter_id, categories = counter.id, counter.categories
            for t in waiting.values():
                target = t.target_counter_id
                if target == counter_id if target is not None else t.category_id in categories:
                    choice = NextCall(t.id)
                    break
        if on_free(at, counter, choice):
            return
        if choice is None:
            # Idle until a resident it serves comes back from another stop, else for good.
            later = [back_at for back_at, _id, t in coming if _serves(counter, t)]
            if later:
                heappush(free, (min(later), index))
            continue
        for passed in choice.passed:
            waiting[passed] = replace(waiting[passed], passed_by=waiting[passed].passed_by + 1)
        called = waiting.pop(choice.ticket_id)
        appointments -= called.slot_at is not None
        done = at + service_s.get(called.category_id, default_s)
        if called.stops:
            _come_back(coming, done, called)
        heappush(free, (done, index))


def _in_walk_in_order(tickets: Iterable[LobbyTicket]) -> dict[str, LobbyTicket]:
    """``tickets`` by id in walk-in order: sorted by ``CALL_ORDER``'s last column first, then
    each earlier one (a stable sort keeps the later columns' order among equals), each pass
    keyed by an attribute alone, with no key object built per ticket."""
    ordered = list(tickets)
    for name, descending in reversed(CALL_ORDER):
        ordered.sort(key=attrgetter(name), reverse=descending)
    return {t.id: t for t in ordered}


def _calling(lobby: LobbyNow, with_paused: bool) -> list[CounterNow]:
    return [c for c in lobby.counters if with_paused or not c.paused]


def replay_wait_s(lobby: LobbyNow, ticket_id: str, *, with_paused: bool = False) -> float | None:
    """Seconds until ``ticket_id`` (one of ``lobby.waiting``) is called, by the replay; None
    when no counter that may call it is open (``with_paused``: paused ones count as open)."""
    counters = _calling(lobby, with_paused)
    ticket = next((t for t in lobby.waiting if t.id == ticket_id), None)
    if ticket is None or not any(_serves(c, ticket) for c in counters):
        return None
    called_at: list[float] = []

    def on_free(at: float, _counter: CounterNow, choice: NextCall | None) -> bool:
        if choice is not None and choice.ticket_id == ticket_id:
            called_at.append(at)
            return True
        return False

    _replay(lobby, counters, on_free)
    return called_at[0] if called_at else None


def new_ticket_waits_s(
    lobby: LobbyNow,
    categories: Iterable[str],
    *,
    with_paused: bool = False,
    ticket_id: str | None = None,
) -> tuple[dict[str, float], float | None]:
    """Seconds until a plain ticket issued now in each category would be called, by one replay
    for them all (a category no calling counter serves is left out); and by the same replay,
    ``ticket_id``'s (one of ``lobby.waiting``; None: not called).

    Such a ticket comes last in walk-in order and is never passed (an appointment only passes
    the tickets before it), so it changes nothing before its own call: it is called the first
    time a counter serving its category frees up with nobody else it serves waiting. The
    replay without it gives that moment for every category at once, the same as replaying
    each category's new ticket (``replay_wait_s``)."""
    wanted = set(categories)
    found: dict[str, float] = {}
    called_at: list[float] = []

    def on_free(at: float, counter: CounterNow, choice: NextCall | None) -> bool:
        # Only these two change what is found: any other call leaves the answer as it was.
        if choice is None:
            for category in (counter.categories & wanted) - found.keys():
                found[category] = at
        elif choice.ticket_id == ticket_id:
            called_at.append(at)
        elif wanted:
            return False
        return found.keys() >= wanted and (ticket_id is None or bool(called_at))

    _replay(lobby, _calling(lobby, with_paused), on_free)
    return found, called_at[0] if called_at else None


def _come_back(coming: list[tuple[float, str, LobbyTicket]], at: float, t: LobbyTicket) -> None:
    back = replace(t, category_id=t.stops[0], stops=t.stops[1:], target_counter_id=None)
    heapq.heappush(coming, (at, t.id, back))


def lobby_replay_minutes(lobby: LobbyNow, ticket_id: str) -> int | None:
    """The replay's estimate in whole minutes (rounded up); when no open counter may call the
    ticket, the paused ones count as open (they come back); None when none serves it at all."""
    seconds = replay_wait_s(lobby, ticket_id)
    if seconds is None:
        seconds = replay_wait_s(lobby, ticket_id, with_paused=True)
    if seconds is None:
        return None
    return math.ceil(seconds / 60)


def new_ticket_minutes(
    lobby: LobbyNow, categories: Iterable[str], ticket_id: str | None = None
) -> tuple[dict[str, int], int | None]:
    """``lobby_replay_minutes`` of a plain ticket issued now, for each category (a category no
    counter serves at all is left out), and of ``ticket_id`` (just issued; None: no counter
    serves it): one replay for them all, more only where no open counter serves one."""
    wanted = set(categories)
    seconds, ticket_s = new_ticket_waits_s(lobby, wanted, ticket_id=ticket_id)
    if wanted - seconds.keys():
        paused, _none = new_ticket_waits_s(lobby, wanted - seconds.keys(), with_paused=True)
        seconds |= paused
    waits = {category: math.ceil(s / 60) for category, s in seconds.items()}
    if ticket_id is None:
        return waits, None
    if ticket_s is None:
        return waits, lobby_replay_minutes(lobby, ticket_id)
    return waits, math.ceil(ticket_s / 60)
