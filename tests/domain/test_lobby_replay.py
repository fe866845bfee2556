"""The ``lobby_replay`` wait model on constructed lobbies: counters shared by categories, a
resident at a counter for a long time, paused counters, priority tickets, appointments and
plans of stops."""

import heapq
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.estimates import QueueNow, lobby_replay, mean_open
from app.domain.lobby_replay import (
    MIN_REMAINING_S,
    CounterNow,
    LobbyNow,
    LobbyTicket,
    lobby_replay_minutes,
    replay_wait_s,
)
from app.domain.tickets import AppointmentWindow, Waiting, next_to_call

NOW = datetime(2026, 3, 30, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
# Expected service times: 住民異動 A 10 min, 印鑑 B 5 min.
SERVICE = {"A": 600.0, "B": 300.0}


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def ticket(id_: str, category: str, queued_min_ago: float, **kw: object) -> LobbyTicket:
    return LobbyTicket(id_, category, ago(queued_min_ago), **kw)  # type: ignore[arg-type]


def lobby(
    waiting: list[LobbyTicket], counters: list[CounterNow], service: dict[str, float] = SERVICE
) -> LobbyNow:
    return LobbyNow(NOW, waiting, counters, service, AppointmentWindow())


def counter(id_: str, *categories: str, **kw: object) -> CounterNow:
    return CounterNow(id_, frozenset(categories), **kw)  # type: ignore[arg-type]


NEW = ticket("new", "A", 0)


def test_shared_counter_serves_other_categories_that_came_earlier() -> None:
    # One counter serves A and B; three B residents came before the new A ticket. Counting only
    # A's queue (nobody ahead) says 0; the replay sees 3 × 5 min of B first.
    room = lobby(
        [ticket("b1", "B", 9), ticket("b2", "B", 6), ticket("b3", "B", 3), NEW],
        [counter("c1", "A", "B")],
    )
    assert replay_wait_s(room, "new") == 900
    assert lobby_replay_minutes(room, "new") == 15
    # The same queue without the shared counter's other work: mean_open says 0.
    plain = QueueNow(0, [600.0], 600, counters=1, counters_open=1)
    assert mean_open(plain) == 0
    assert lobby_replay(QueueNow(0, [600.0], 600, 1, 1, lobby=room, ticket_id="new")) == 15


def test_a_counter_of_the_other_category_only_does_not_help() -> None:
    # c2 serves B only: it takes b2 while c1 takes b1, then the new A ticket is c1's next.
    room = lobby(
        [ticket("b1", "B", 9), ticket("b2", "B", 6), NEW],
        [counter("c1", "A", "B"), counter("c2", "B")],
    )
    assert replay_wait_s(room, "new") == 300


def test_resident_at_the_counter_finishes_first() -> None:
    # The A resident at c1 started 4 minutes ago: 6 of the expected 10 minutes are left.
    at = ticket("x", "A", 20)
    room = lobby([NEW], [counter("c1", "A", at_counter=at, busy_since=ago(4))])
    assert replay_wait_s(room, "new") == 360


def test_resident_at_the_counter_for_a_long_time_still_takes_a_little() -> None:
    # 45 minutes on a 10-minute case: not "free now", not negative, the small floor.
    at = ticket("x", "A", 60)
    room = lobby([NEW], [counter("c1", "A", at_counter=at, busy_since=ago(45))])
    assert replay_wait_s(room, "new") == MIN_REMAINING_S
    assert lobby_replay_minutes(room, "new") == 1


def test_paused_counter_calls_no_one() -> None:
    waiting = [ticket("a1", "A", 5), ticket("a2", "A", 4), NEW]
    both = lobby(waiting, [counter("c1", "A"), counter("c2", "A")])
    one_paused = lobby(waiting, [counter("c1", "A"), counter("c2", "A", paused=True)])
    # Two counters: a1 and a2 at once, the new ticket at 10 min; one paused: at 20 min.
    assert replay_wait_s(both, "new") == 600
    assert replay_wait_s(one_paused, "new") == 1200


def test_every_counter_paused_counts_them_as_they_come_back() -> None:
    room = lobby([ticket("a1", "A", 5), NEW], [counter("c1", "A", paused=True)])
    assert replay_wait_s(room, "new") is None
    assert lobby_replay_minutes(room, "new") == 10


def test_no_counter_serves_the_category_falls_back_to_mean_open() -> None:
    room = lobby([ticket("a1", "A", 5), NEW], [counter("c1", "B")])
    assert lobby_replay_minutes(room, "new") is None
    queue = QueueNow(1, [600.0], 600, counters=0, counters_open=0, lobby=room, ticket_id="new")
    assert lobby_replay(queue) == mean_open(queue) == 10


def test_priority_ticket_issued_later_goes_first() -> None:
    late_priority = ticket("p", "B", -1, is_priority=True)  # issued after the new one
    room = lobby([NEW, late_priority], [counter("c1", "A", "B")])
    assert replay_wait_s(room, "new") == 300
    # A priority new ticket goes before plain ones that came earlier.
    new_priority = ticket("new", "A", 0, is_priority=True)
    room = lobby([ticket("b1", "B", 9), new_priority], [counter("c1", "A", "B")])
    assert replay_wait_s(room, "new") == 0


def test_appointment_on_time_goes_before_but_passes_no_one_too_often() -> None:
    # A checked-in appointment whose slot is now goes before the new walk-in.
    slot = ticket("ap", "A", -1, slot_at=NOW)
    room = lobby([NEW, slot], [counter("c1", "A")])
    assert replay_wait_s(room, "new") == 600
    # The new ticket has already been passed max_passes (2) times: the appointment waits.
    passed = ticket("new", "A", 0, passed_by=2)
    room = lobby([passed, slot], [counter("c1", "A")])
    assert replay_wait_s(room, "new") == 0
    # An appointment checked in early (slot an hour away) keeps its walk-in place after us.
    early = ticket("ap", "A", -1, slot_at=NOW + timedelta(hours=1))
    assert replay_wait_s(lobby([NEW, early], [counter("c1", "A")]), "new") == 0


def test_resident_with_a_next_stop_comes_back_at_their_old_place() -> None:
    # At c1 (B) for 1 of 5 minutes, then 住民異動 A: queued 30 minutes ago, ahead of us there.
    at = ticket("x", "B", 30, stops=("A",))
    room = lobby([NEW], [counter("c1", "A", "B", at_counter=at, busy_since=ago(1))])
    # 4 min left of B, then x's A stop (10 min), then the new ticket.
    assert replay_wait_s(room, "new") == 240 + 600


def test_ticket_sent_to_one_counter_is_called_by_it_only() -> None:
    # s was sent to c2: c1 (the only one serving A) goes straight to the new ticket.
    sent = ticket("s", "A", 9, target_counter_id="c2")
    room = lobby([sent, NEW], [counter("c1", "A"), counter("c2", "B")])
    assert replay_wait_s(room, "new") == 0


def test_a_long_lobby_replays_every_resident_ahead() -> None:
    # 500 waiting over five categories on nine counters (speed: clients/bench, lobby).
    waiting = [
        ticket(f"t{i}", "ABCDE"[i % 5], 500 - i, is_priority=i % 37 == 0) for i in range(500)
    ]
    counters = [counter(f"c{j}", "ABCDE"[j % 5], "ABCDE"[(j + 2) % 5]) for j in range(9)]
    service = dict.fromkeys("ABCDE", 400.0)
    room = lobby([*waiting, NEW], counters, service)
    seconds = replay_wait_s(room, "new")
    # 501 residents on nine counters, 400 s each: the new one in round ⌊500 / 9⌋ or about.
    assert seconds is not None and 50 * 400 <= seconds <= 60 * 400
    assert seconds == reference_wait_s(room, "new")


def reference_wait_s(lobby: LobbyNow, ticket_id: str) -> float | None:
    """The replay written plainly: at every call, ``next_to_call`` over every waiting ticket
    the counter serves. The model's faster walk must agree with it exactly."""
    now = lobby.now
    default_s = max(lobby.service_s.values(), default=0.0)
    service = lambda c: lobby.service_s.get(c, default_s)  # noqa: E731
    waiting = {t.id: t for t in lobby.waiting}
    counters = [c for c in lobby.counters if not c.paused]
    free: list[tuple[float, int]] = []
    coming: list[tuple[float, str, LobbyTicket]] = []

    def come_back(at: float, t: LobbyTicket) -> None:
        back = replace(t, category_id=t.stops[0], stops=t.stops[1:], target_counter_id=None)
        heapq.heappush(coming, (at, t.id, back))

    def serves(c: CounterNow, t: LobbyTicket) -> bool:
        return t.target_counter_id == c.id if t.target_counter_id else t.category_id in c.categories

    for index, c in enumerate(counters):
        at = 0.0
        if c.at_counter is not None:
            spent = (now - (c.busy_since or now)).total_seconds()
            at = max(MIN_REMAINING_S, service(c.at_counter.category_id) - spent)
            if c.at_counter.stops:
                come_back(at, c.at_counter)
        heapq.heappush(free, (at, index))
    if not any(serves(c, waiting[ticket_id]) for c in counters):
        return None
    while free:
        at, index = heapq.heappop(free)
        while coming and coming[0][0] <= at:
            back = heapq.heappop(coming)[2]
            waiting[back.id] = back
        c = counters[index]
        mine = [
            Waiting(t.id, t.queued_at, t.is_priority, t.slot_at, t.passed_by)
            for t in waiting.values()
            if serves(c, t)
        ]
        choice = next_to_call(mine, now + timedelta(seconds=at), lobby.window)
        if choice is None:
            later = [b for b, _i, t in coming if serves(c, t)]
            if later:
                heapq.heappush(free, (min(later), index))
            continue
        if choice.ticket_id == ticket_id:
            return at
        for passed in choice.passed:
            waiting[passed] = replace(waiting[passed], passed_by=waiting[passed].passed_by + 1)
        called = waiting.pop(choice.ticket_id)
        if called.stops:
            come_back(at + service(called.category_id), called)
        heapq.heappush(free, (at + service(called.category_id), index))
    return None


@st.composite
def lobbies(draw: st.DrawFn) -> LobbyNow:
    categories = "ABC"
    count = draw(st.integers(0, 40))
    counter_count = draw(st.integers(1, 4))
    counters = [
        CounterNow(
            f"c{j}",
            frozenset(draw(st.sets(st.sampled_from(categories), min_size=1))),
            at_counter=draw(
                st.none()
                | st.builds(
                    lambda cat, stops, j=j: LobbyTicket(f"at{j}", cat, ago(30), stops=stops),
                    st.sampled_from(categories),
                    st.lists(st.sampled_from(categories), max_size=2).map(tuple),
                )
            ),
            busy_since=ago(draw(st.integers(0, 20))),
        )
        for j in range(counter_count)
    ]
    waiting = []
    for i in range(count):
        slot = draw(st.none() | st.integers(-20, 40).map(lambda m: NOW + timedelta(minutes=m)))
        waiting.append(
            LobbyTicket(
                f"t{i:02d}",
                draw(st.sampled_from(categories)),
                ago(draw(st.integers(0, 90))),
                is_priority=draw(st.booleans()) and draw(st.booleans()),
                slot_at=slot,
                passed_by=draw(st.integers(0, 2)),
                target_counter_id=draw(st.none() | st.sampled_from([c.id for c in counters])),
                stops=tuple(draw(st.lists(st.sampled_from(categories), max_size=2))),
            )
        )
    new = LobbyTicket("new", draw(st.sampled_from(categories)), NOW)
    service = {c: float(draw(st.integers(60, 900))) for c in categories}
    window = AppointmentWindow(early_s=600, grace_s=600, max_passes=draw(st.integers(0, 2)))
    return LobbyNow(NOW, [*waiting, new], counters, service, window)


@settings(max_examples=300, deadline=None)
@given(lobbies())
def test_the_replay_agrees_with_the_plain_replay_on_any_lobby(room: LobbyNow) -> None:
    assert replay_wait_s(room, "new") == reference_wait_s(room, "new")


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 5), st.sampled_from("abcdef")),
        max_size=30,
        unique_by=lambda t: t[2],
    )
)
def test_walk_in_order_is_the_call_orders_sort(rows: list[tuple[bool, int, str]]) -> None:
    """The replay's sort by one column at a time gives ``walk_in_key``'s order, ties included."""
    from app.domain.lobby_replay import _in_walk_in_order
    from app.domain.tickets import walk_in_key

    tickets = [ticket(id_, "A", minutes, is_priority=prio) for prio, minutes, id_ in rows]
    expected = sorted(
        tickets,
        key=lambda t: walk_in_key(Waiting(t.id, t.queued_at, t.is_priority, t.slot_at)),
    )
    assert list(_in_walk_in_order(tickets).values()) == expected
