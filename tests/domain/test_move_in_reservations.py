"""法24条の2: a 転入予約 is good until the earlier of 14 days after moving in and 30 days after
the 転出予定日, each rolled to an open day; what the 転入届 takes over from the 転出届."""

from datetime import date

import pytest

from app.domain.deadlines import Calendar
from app.domain.move_in_reservations import (
    ReservationState,
    last_valid_day,
    move_in_fields,
    state_on,
)


@pytest.mark.parametrize(
    ("move_out", "arrival", "last"),
    [
        # Out Tuesday 1 Dec, in Thursday 3 Dec: 14 days after arrival, Thursday 17 Dec.
        (date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 17)),
        # In on 25 Dec: the 30 days from the move-out end first (31 Dec), closed until 3 Jan.
        (date(2026, 12, 1), date(2026, 12, 25), date(2027, 1, 4)),
        # In 20 days after moving out: 30 days from the move-out (Sun 4 Oct → Mon 5 Oct) first.
        (date(2026, 9, 4), date(2026, 9, 24), date(2026, 10, 5)),
        # 14 days after arrival fall on Saturday 19 Dec: Monday 21 Dec.
        (date(2026, 12, 5), date(2026, 12, 5), date(2026, 12, 21)),
    ],
)
def test_the_last_valid_day_is_the_earlier_clock_rolled_to_an_open_day(
    move_out: date, arrival: date, last: date
) -> None:
    assert last_valid_day(move_out, arrival, Calendar()) == last


def test_a_reservation_is_expiring_a_week_before_its_last_day_and_expired_after() -> None:
    last = date(2026, 12, 17)
    assert state_on("reserved", last, date(2026, 12, 9)) == ReservationState.VALID
    assert state_on("reserved", last, date(2026, 12, 10)) == ReservationState.EXPIRING
    assert state_on("reserved", last, last) == ReservationState.EXPIRING
    assert state_on("reserved", last, date(2026, 12, 18)) == ReservationState.EXPIRED
    assert state_on("checked_in", last, date(2027, 1, 5)) == ReservationState.CHECKED_IN


def test_the_move_in_form_takes_over_the_move_outs_items_as_written() -> None:
    fields = move_in_fields(
        {
            "planned_move_date": "2026-12-01",
            "current_address": "福岡市博多区博多駅前２丁目",
            "destination_address": "熊本市中央区手取本町１－１",
            "card_holder": True,
            "filer_name": "髙橋 𠮷子",
            "members": [{"name": "髙橋 𠮷子", "relationship": "世帯主"}],
        },
        planned_arrival=date(2026, 12, 3),
        previous_municipality_code="401331",
    )
    assert fields == {
        "planned_move_out_date": "2026-12-01",
        "previous_address": "福岡市博多区博多駅前２丁目",
        "new_address": "熊本市中央区手取本町１－１",
        "card_continued": True,
        "filer_name": "髙橋 𠮷子",
        "transfer_method": "card_special",
        "id_document": "my_number_card",
        "move_date": "2026-12-03",
        "previous_municipality_code": "401331",
        "members": [{"name": "髙橋 𠮷子", "relationship": "世帯主"}],
        "household_head_name": "髙橋 𠮷子",
    }
