"""The merge of checked-in appointments with walk-ins (app/domain/tickets.py next_to_call), as a
state machine: residents arrive, appointments check in early, on time or late, time passes and
counters free up. Whatever the sequence, no waiting ticket is passed by more than K
appointments, walk-ins keep their order, and an on-time appointment is called next when a
counter frees and the bound does not hold it back."""

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain.tickets import (
    AppointmentWindow,
    Waiting,
    next_to_call,
    on_time,
    walk_in_key,
)

START = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
WINDOW = AppointmentWindow(early_s=300, grace_s=600, max_passes=2)


class Lobby(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.waiting: dict[str, Waiting] = {}
        # The model's own count: calls of a ticket later in walk-in order while this one waited.
        self.passes: dict[str, int] = {}
        self.served_walk_ins: list[Waiting] = []
        self.serial = 0

    def _new_id(self) -> str:
        self.serial += 1
        return f"t{self.serial:04d}"

    @rule(priority=st.sampled_from([False] * 5 + [True]))
    def walk_in(self, priority: bool) -> None:
        ticket = Waiting(self._new_id(), self.now, is_priority=priority)
        self.waiting[ticket.id] = ticket
        self.passes[ticket.id] = 0

    @rule(offset_min=st.integers(min_value=-30, max_value=30))
    def appointment_checks_in(self, offset_min: int) -> None:
        # offset > 0: checked in before the slot; < 0: the slot began that long ago (late).
        slot = self.now + timedelta(minutes=offset_min)
        ticket = Waiting(self._new_id(), self.now, slot_at=slot)
        self.waiting[ticket.id] = ticket
        self.passes[ticket.id] = 0

    @rule(minutes=st.integers(min_value=0, max_value=12))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes, seconds=1)

    @precondition(lambda self: bool(self.waiting))
    @rule()
    def counter_frees(self) -> None:
        waiting = list(self.waiting.values())
        due = [t for t in waiting if on_time(t, self.now, WINDOW)]
        no_priority = not any(t.is_priority for t in waiting)
        bound_free = all(self.passes[t.id] < WINDOW.max_passes for t in waiting)

        choice = next_to_call(waiting, self.now, WINDOW)
        assert choice is not None and choice.ticket_id in self.waiting
        chosen = self.waiting.pop(choice.ticket_id)

        if due and no_priority and bound_free:
            assert on_time(chosen, self.now, WINDOW), "an on-time appointment is next"
        if not (due and no_priority):
            assert chosen.id == min(waiting, key=walk_in_key).id, "otherwise walk-in order"

        before = {t.id for t in self.waiting.values() if walk_in_key(t) < walk_in_key(chosen)}
        assert set(choice.passed) == before
        for ticket_id in before:
            self.passes[ticket_id] += 1
            old = self.waiting[ticket_id]
            self.waiting[ticket_id] = Waiting(
                old.id, old.queued_at, old.is_priority, old.slot_at, old.passed_by + 1
            )
        if chosen.slot_at is None and not chosen.is_priority:
            self.served_walk_ins.append(chosen)

    @invariant()
    def no_ticket_is_passed_more_than_k_times(self) -> None:
        assert all(count <= WINDOW.max_passes for count in self.passes.values())

    @invariant()
    def walk_ins_are_served_in_arrival_order(self) -> None:
        keys = [walk_in_key(t) for t in self.served_walk_ins]
        assert keys == sorted(keys)


Lobby.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestMergedCallOrder = Lobby.TestCase


def test_a_late_appointment_waits_in_walk_in_order_by_its_check_in() -> None:
    walk_in = Waiting("w", START)
    late = Waiting("a", START + timedelta(minutes=1), slot_at=START - timedelta(minutes=30))
    assert next_to_call([late, walk_in], START + timedelta(minutes=2), WINDOW).ticket_id == "w"


def test_an_on_time_appointment_goes_first_until_the_walk_in_was_passed_k_times() -> None:
    now = START + timedelta(minutes=5)
    walk_in = Waiting("w", START, passed_by=1)
    appointment = Waiting("a", now, slot_at=now)
    choice = next_to_call([walk_in, appointment], now, WINDOW)
    assert choice == next_to_call([appointment, walk_in], now, WINDOW)
    assert choice is not None and choice.ticket_id == "a" and choice.passed == ("w",)
    held = Waiting("w", START, passed_by=2)
    assert next_to_call([held, appointment], now, WINDOW).ticket_id == "w"
