"""The ``lobby_replay`` wait model: the office's lobby at issue time replayed forward. Pure.

The counters open and not paused each finish the resident they are serving (the category's
expected service time minus the time already spent, at least ``MIN_REMAINING_S``), then call
from the categories they serve, in the real call order (``next_to_call``: priority, walk-in
order, appointments on time), the waiting tickets of every category; each call takes the
category's expected service time, and a ticket with a plan of stops comes back to wait at its
next category (same place by ``queued_at``) when a stop is done. The replay runs until the new
ticket is called: that moment is the estimate.
"""

import bisect
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.domain.tickets import (
    AppointmentWindow,
    NextCall,
    Waiting,
    next_to_call,
    walk_in_key,
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


def replay_wait_s(lobby: LobbyNow, ticket_id: str, *, with_paused: bool = False) -> float | None:
    """Seconds until ``ticket_id`` (one of ``lobby.waiting``) is called, by the replay; None
    when no counter that may call it is open (``with_paused``: paused ones count as open).

    The waiting tickets are kept in walk-in order; a counter with no appointment it may call
    waiting takes the first ticket it serves in that order (what ``next_to_call`` answers
    then) without looking at the rest, so a replay costs about one step per call, not one
    pass over the lobby per call; only while an appointment it serves waits does a counter ask
    ``next_to_call`` with every ticket it serves (appointments are few).
    """
    now = lobby.now
    default_s = max(lobby.service_s.values(), default=0.0)

    def service(category_id: str) -> float:
        return lobby.service_s.get(category_id, default_s)

    tickets: dict[str, LobbyTicket] = {t.id: t for t in lobby.waiting}
    keyed: dict[str, Waiting] = {t.id: _waiting(t) for t in lobby.waiting}
    # (walk-in key, id), sorted: the lobby in walk-in order.
    order = sorted((walk_in_key(w), i) for i, w in keyed.items())
    appointments = {i for i, t in tickets.items() if t.slot_at is not None}

    def enter(ticket: LobbyTicket) -> None:
        tickets[ticket.id] = ticket
        keyed[ticket.id] = waiting = _waiting(ticket)
        bisect.insort(order, (walk_in_key(waiting), ticket.id))
        if ticket.slot_at is not None:
            appointments.add(ticket.id)

    def leave(ticket_id: str) -> LobbyTicket:
        del order[bisect.bisect_left(order, (walk_in_key(keyed.pop(ticket_id)), ticket_id))]
        appointments.discard(ticket_id)
        return tickets.pop(ticket_id)

    # (free at, counter index): when each calling counter next calls.
    free: list[tuple[float, int]] = []
    # (back at, ticket id, ticket): residents coming back to wait at their next stop.
    coming: list[tuple[float, str, LobbyTicket]] = []
    counters = [c for c in lobby.counters if with_paused or not c.paused]
    for index, counter in enumerate(counters):
        at = 0.0
        current = counter.at_counter
        if current is not None and not counter.paused:
            spent = (now - (counter.busy_since or now)).total_seconds()
            at = max(MIN_REMAINING_S, service(current.category_id) - spent)
            if current.stops:
                _come_back(coming, at, current)
        heapq.heappush(free, (at, index))
    if not any(_serves(c, tickets[ticket_id]) for c in counters if ticket_id in tickets):
        return None
    while free:
        at, index = heapq.heappop(free)
        while coming and coming[0][0] <= at:
            enter(heapq.heappop(coming)[2])
        counter = counters[index]
        choice: NextCall | None
        if any(_serves(counter, tickets[a]) for a in appointments):
            mine = [keyed[i] for _key, i in order if _serves(counter, tickets[i])]
            choice = next_to_call(mine, now + timedelta(seconds=at), lobby.window)
        else:
            first = next((i for _key, i in order if _serves(counter, tickets[i])), None)
            choice = None if first is None else NextCall(first)
        if choice is None:
            # Idle until a resident it serves comes back from another stop, else for good.
            later = [back_at for back_at, _id, t in coming if _serves(counter, t)]
            if later:
                heapq.heappush(free, (min(later), index))
            continue
        if choice.ticket_id == ticket_id:
            return at
        for passed in choice.passed:
            # passed_by is not part of the walk-in key: the order stays as it is.
            tickets[passed] = bumped = replace(
                tickets[passed], passed_by=tickets[passed].passed_by + 1
            )
            keyed[passed] = _waiting(bumped)
        called = leave(choice.ticket_id)
        done = at + service(called.category_id)
        if called.stops:
            _come_back(coming, done, called)
        heapq.heappush(free, (done, index))
    return None


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
