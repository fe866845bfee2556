from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.catalogue import load_catalogue
from app.domain.deadlines import Calendar, due_date, japanese_holidays

CALENDAR = Calendar()


def days(year: int, text: str) -> set[date]:
    return {date(year, int(m), int(d)) for m, d in (md.split("/") for md in text.split())}


# 内閣府「国民の祝日について」, including 振替休日 and 国民の休日.
PUBLISHED = {
    2020: "1/1 1/13 2/11 2/23 2/24 3/20 4/29 5/3 5/4 5/5 5/6 7/23 7/24 8/10 9/21 9/22 11/3 11/23",
    2021: "1/1 1/11 2/11 2/23 3/20 4/29 5/3 5/4 5/5 7/22 7/23 8/8 8/9 9/20 9/23 11/3 11/23",
    2024: "1/1 1/8 2/11 2/12 2/23 3/20 4/29 5/3 5/4 5/5 5/6 7/15 8/11 8/12 9/16 9/22 9/23 "
    "10/14 11/3 11/4 11/23",
    2025: "1/1 1/13 2/11 2/23 2/24 3/20 4/29 5/3 5/4 5/5 5/6 7/21 8/11 9/15 9/23 10/13 11/3 "
    "11/23 11/24",
    2026: "1/1 1/12 2/11 2/23 3/20 4/29 5/3 5/4 5/5 5/6 7/20 8/11 9/21 9/22 9/23 10/12 11/3 11/23",
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_national_holidays_match_the_published_lists(year: int) -> None:
    assert japanese_holidays(year) == days(year, PUBLISHED[year])


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2027, 3, 22), "春分の日 on a Sunday → 振替休日"),
        (date(2029, 4, 30), "昭和の日 on a Sunday → 振替休日"),
        (date(2026, 9, 22), "国民の休日 between 敬老の日 and 秋分の日"),
        (date(2030, 11, 4), "文化の日 on a Sunday → 振替休日"),
    ],
)
def test_substitute_and_sandwiched_holidays(day: date, why: str) -> None:
    assert day in japanese_holidays(day.year), why


@pytest.mark.parametrize("year", range(2020, 2031))
def test_every_year_has_its_sixteen_holidays(year: int) -> None:
    holidays = japanese_holidays(year)
    assert days(year, "1/1 2/11 2/23 4/29 5/3 5/4 5/5 11/3 11/23") <= holidays
    assert len(holidays) >= 16
    # 振替休日: whatever else happens, a holiday on a Sunday leaves the Monday closed.
    assert all(d + timedelta(days=1) in holidays for d in holidays if d.weekday() == 6)


def test_holidays_outside_the_computed_years() -> None:
    with pytest.raises(ValueError, match="2020"):
        japanese_holidays(2019)


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        (date(2024, 4, 13), True),  # Saturday
        (date(2024, 4, 14), True),  # Sunday
        (date(2024, 4, 15), False),
        (date(2024, 5, 6), True),  # 振替休日
        (date(2024, 12, 27), False),
        (date(2024, 12, 30), True),  # 年末年始
        (date(2025, 1, 3), True),
        (date(2025, 1, 6), False),
    ],
)
def test_closed_days(day: date, closed: bool) -> None:
    assert CALENDAR.is_closed(day) is closed


def test_injected_holidays_and_local_closures() -> None:
    own = Calendar(
        holidays=frozenset({date(2024, 4, 15)}), extra_closed=frozenset({date(2024, 4, 16)})
    )
    assert own.is_closed(date(2024, 4, 15)) and own.is_closed(date(2024, 4, 16))
    assert not own.is_closed(date(2024, 5, 6))  # the injected set replaces the built-in one
    assert own.roll_forward(date(2024, 4, 13)) == date(2024, 4, 17)


def test_year_end_rolls_to_the_first_open_day() -> None:
    assert CALENDAR.roll_forward(date(2024, 12, 28)) == date(2025, 1, 6)


def test_years_without_built_in_holidays_still_close_weekends() -> None:
    assert CALENDAR.roll_forward(date(2019, 4, 27)) == date(2019, 4, 29)


def iso(text: str) -> dict[str, str | None]:
    return {"iso": text, "written": text, "uncertain": None, "earliest": text, "latest": text}


RECEIVED = date(2024, 4, 10)


@pytest.mark.parametrize(
    ("code", "values", "received", "due"),
    [
        ("resident.move_in", {"move_date": iso("2024-04-01")}, RECEIVED, date(2024, 4, 15)),
        # day 14 is a Saturday → the next Monday
        ("resident.move_in", {"move_date": iso("2024-04-06")}, RECEIVED, date(2024, 4, 22)),
        # day 14 is 憲法記念日, then a weekend and a 振替休日
        ("resident.move_in", {"move_date": iso("2024-04-19")}, RECEIVED, date(2024, 5, 7)),
        # 特例転入: the 30 days from the 転出予定日 run out first
        (
            "resident.move_in",
            {
                "move_date": iso("2024-04-01"),
                "transfer_method": "card_special",
                "planned_move_out_date": iso("2024-03-10"),
            },
            RECEIVED,
            date(2024, 4, 9),
        ),
        (
            "resident.move_in",
            {
                "move_date": iso("2024-04-01"),
                "transfer_method": "card_special",
                "planned_move_out_date": iso("2024-03-25"),
            },
            RECEIVED,
            date(2024, 4, 15),
        ),
        ("resident.move_within", {"move_date": date(2024, 4, 1)}, RECEIVED, date(2024, 4, 15)),
        ("resident.move_out", {"planned_move_date": "2024-04-20"}, RECEIVED, date(2024, 5, 7)),
        (
            "resident.household_change",
            {"change_date": iso("2024-04-01")},
            RECEIVED,
            date(2024, 4, 15),
        ),
        # 15日特例, DOMAIN.md §1.3's worked example: born 4/30 → claim by 5/15
        (
            "child_allowance.claim",
            {"claim_reason": "birth", "reason_date": iso("2024-04-30")},
            RECEIVED,
            date(2024, 5, 15),
        ),
        (
            "child_allowance.claim",
            {
                "claim_reason": "move_in",
                "reason_date": iso("2024-04-05"),
                "planned_move_out_date": iso("2024-03-31"),
            },
            RECEIVED,
            date(2024, 4, 15),
        ),
        (
            "child_allowance.revision",
            {"reason_date": iso("2024-04-01"), "revision_kind": "increase"},
            RECEIVED,
            date(2024, 4, 16),
        ),
        # 額改定届 (decrease): 速やかに, no dated deadline (施行規則3条)
        (
            "child_allowance.revision",
            {"reason_date": iso("2024-04-01"), "revision_kind": "decrease"},
            RECEIVED,
            None,
        ),
        # 現況届 windows: 2024-06-30 and 2024-08-31 fall on weekends
        ("child_allowance.status_report", {}, date(2024, 6, 10), date(2024, 7, 1)),
        ("child_allowance.status_report", {}, date(2025, 6, 10), date(2025, 6, 30)),
        ("child_rearing.status_report", {}, date(2024, 8, 5), date(2024, 9, 2)),
        ("child_rearing.status_report", {}, date(2025, 8, 5), date(2025, 9, 1)),
        ("child_rearing.partial_suspension_exemption", {}, date(2026, 8, 3), date(2026, 8, 31)),
        ("child_rearing.claim", {"reason_date": iso("2024-04-01")}, RECEIVED, None),
    ],
)
def test_due_dates(code: str, values: dict[str, object], received: date, due: date | None) -> None:
    assert due_date(load_catalogue().get(code), values, received, CALENDAR) == due


@pytest.mark.parametrize(
    "values",
    [
        {},
        {
            "move_date": {
                "iso": None,
                "written": "令和6年4月頃",
                "uncertain": "approximate",
                "earliest": "2024-04-01",
                "latest": "2024-04-30",
            }
        },
        {"move_date": "R6.4.1"},  # not normalised: no guessing here
        {"move_date": iso("2024-04-01"), "transfer_method": "card_special"},  # a clock is missing
    ],
)
def test_no_due_date_without_an_exact_base_date(values: dict[str, object]) -> None:
    assert due_date(load_catalogue().get("resident.move_in"), values, RECEIVED, CALENDAR) is None


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 12, 20)))
def test_rolled_days_are_open_and_soon(day: date) -> None:
    rolled = CALENDAR.roll_forward(day)
    assert not CALENDAR.is_closed(rolled)
    assert day <= rolled <= day + timedelta(days=9)  # 年末年始 plus a weekend at most
    assert CALENDAR.roll_forward(rolled) == rolled
    if not CALENDAR.is_closed(day):
        assert rolled == day


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 11, 30)))
def test_move_deadline_is_the_first_open_day_from_day_fourteen(moved: date) -> None:
    due = due_date(
        load_catalogue().get("resident.move_within"), {"move_date": moved}, moved, CALENDAR
    )
    assert due is not None
    assert due >= moved + timedelta(days=14)
    assert all(CALENDAR.is_closed(moved + timedelta(days=n)) for n in range(14, (due - moved).days))
