import itertools

import pytest

from app.domain.errors import InvalidInput, InvalidTransition, NoNextStop
from app.domain.tickets import (
    TRANSITIONS,
    TicketAction,
    TicketStatus,
    add_stop,
    allowed_actions,
    estimate_wait_minutes,
    format_number,
    next_status,
    skip_next_stop,
    spoken_number,
)

FORBIDDEN = [
    pair for pair in itertools.product(TicketStatus, TicketAction) if pair not in TRANSITIONS
]


@pytest.mark.parametrize(("current", "action"), TRANSITIONS.keys())
def test_listed_transitions_are_applied(current: TicketStatus, action: TicketAction) -> None:
    assert next_status(current, action) is TRANSITIONS[(current, action)]


@pytest.mark.parametrize(("current", "action"), FORBIDDEN)
def test_every_other_pair_is_refused(current: TicketStatus, action: TicketAction) -> None:
    with pytest.raises(InvalidTransition):
        next_status(current, action)


def test_finished_and_cancelled_tickets_allow_nothing() -> None:
    assert allowed_actions(TicketStatus.DONE) == frozenset()
    assert allowed_actions(TicketStatus.CANCELLED) == frozenset()


def test_moving_on_to_a_next_stop_is_no_action_a_counter_is_offered() -> None:
    assert next_status(TicketStatus.SERVING, TicketAction.NEXT_STOP) == TicketStatus.WAITING
    for status in TicketStatus:
        assert TicketAction.NEXT_STOP not in allowed_actions(status, stops=2)
    assert TicketAction.TRANSFER in allowed_actions(TicketStatus.SERVING)


def test_numbers_are_printed_with_three_digits_and_spoken_without_padding() -> None:
    assert format_number("A", 12) == "A-012"
    assert format_number("B", 1234) == "B-1234"
    assert spoken_number("A-012") == "A12"


def test_estimate_uses_median_service_time_over_serving_counters() -> None:
    # One long 転入 case must not inflate everyone's estimate.
    samples = [300.0, 300.0, 3600.0]
    assert (
        estimate_wait_minutes(ahead=4, recent_service_s=samples, default_service_s=60, counters=2)
        == 10
    )
    assert (
        estimate_wait_minutes(ahead=0, recent_service_s=samples, default_service_s=60, counters=2)
        == 0
    )
    assert (
        estimate_wait_minutes(ahead=3, recent_service_s=[], default_service_s=120, counters=0) == 6
    )


def test_a_plan_loses_its_next_stop_or_gains_one_where_asked() -> None:
    assert skip_next_stop(["B", "C"]) == ["C"]
    with pytest.raises(NoNextStop):
        skip_next_stop([])
    assert add_stop(["B"], "C", "A", at=None, most=5) == ["B", "C"]
    assert add_stop(["B"], "C", "A", at=0, most=5) == ["C", "B"]
    for stops, category, at in ((["B"], "A", None), (["B"], "B", None), (["B"], "C", 2)):
        with pytest.raises(InvalidInput):
            add_stop(stops, category, "A", at=at, most=5)
    with pytest.raises(InvalidInput):
        add_stop(["B", "C"], "D", "A", at=None, most=2)
    # Skip is offered only with a next stop; neither after the ticket is done.
    assert TicketAction.SKIP_STOP not in allowed_actions(TicketStatus.SERVING)
    assert TicketAction.SKIP_STOP in allowed_actions(TicketStatus.SERVING, stops=1)
    assert TicketAction.ADD_STOP not in allowed_actions(TicketStatus.DONE)
