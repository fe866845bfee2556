"""Appointment slots on the business calendar, confirmation codes and initials."""

from datetime import UTC, date, datetime, time

import pytest

from app.domain.appointments import (
    AppointmentHours,
    check_hours,
    check_initial,
    check_slot,
    day_slots,
    read_code,
)
from app.domain.deadlines import Calendar
from app.domain.errors import InvalidInput

HOURS = AppointmentHours(time(9), time(10, 45), slot_minutes=30, seats=2)


def test_slots_fill_the_hours_and_closed_days_have_none() -> None:
    slots = day_slots(date(2027, 1, 12), HOURS, Calendar())
    # 9:00, 9:30, 10:00 JST; 10:30 would end after closing.
    assert slots == [datetime(2027, 1, 12, h, m, tzinfo=UTC) for h, m in ((0, 0), (0, 30), (1, 0))]
    assert day_slots(date(2027, 1, 11), HOURS, Calendar()) == []  # 成人の日
    assert day_slots(date(2026, 12, 29), HOURS, Calendar()) == []  # year end
    assert day_slots(date(2027, 1, 16), HOURS, Calendar()) == []  # Saturday
    closed = Calendar(extra_closed=frozenset({date(2027, 1, 12)}))
    assert day_slots(date(2027, 1, 12), HOURS, closed) == []


def test_a_booking_names_a_slot_to_come() -> None:
    now = datetime(2027, 1, 12, 0, 10, tzinfo=UTC)
    assert check_slot(datetime(2027, 1, 12, 0, 30, tzinfo=UTC), HOURS, Calendar(), now, 60)

    def reason(starts_at: datetime) -> str:
        with pytest.raises(InvalidInput) as refused:
            check_slot(starts_at, HOURS, Calendar(), now, 60)
        return refused.value.errors[0]["code"]

    assert reason(datetime(2027, 1, 12, 0, 0, tzinfo=UTC)) == "in_the_past"
    assert reason(datetime(2027, 1, 12, 0, 45, tzinfo=UTC)) == "not_a_slot"
    assert reason(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)) == "closed_day"
    assert reason(datetime(2027, 6, 1, 0, 30, tzinfo=UTC)) == "too_far_ahead"


def test_hours_without_a_whole_slot_are_refused() -> None:
    with pytest.raises(InvalidInput):
        check_hours(AppointmentHours(time(9), time(9, 20), slot_minutes=30, seats=1))


def test_codes_read_back_forgivingly_and_initials_are_one_letter_as_given() -> None:
    assert read_code("7kq2m-9xd4b") == "7KQ2M9XD4B"
    assert read_code("OIL00-00000") == "0110000000"
    assert read_code("7KQ2M-9XD4") is None and read_code("7KQ2M-9XD4!") is None
    assert check_initial("ﾔ") == "ﾔ"  # half-width kana kept as typed
    for bad in ("", "山田", "1", " "):
        with pytest.raises(InvalidInput):
            check_initial(bad)
