"""Retention periods per procedure (DOMAIN.md §4.5, §7 rule 22): when personal data may go."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain.errors import InvalidInput
from app.domain.retention import PERIODS, expires_on, fiscal_year_after, periods
from app.settings import RetentionSettings, Settings


@pytest.mark.parametrize(
    ("completed", "expected"),
    [
        (date(2026, 3, 31), date(2026, 4, 1)),  # last day of 令和7年度
        (date(2026, 4, 1), date(2027, 4, 1)),  # first day of 令和8年度
        (date(2026, 12, 31), date(2027, 4, 1)),
        (date(2027, 1, 1), date(2027, 4, 1)),
    ],
)
def test_the_fiscal_year_after_begins_on_the_next_first_of_april(
    completed: date, expected: date
) -> None:
    assert fiscal_year_after(completed) == expected


@pytest.mark.parametrize(
    ("procedure", "received", "completed", "expected"),
    [
        # 住基 届出書: 1 year from receipt (施行令34条4項), whenever it was decided.
        ("resident.move_in", date(2025, 3, 20), date(2025, 3, 25), date(2026, 3, 20)),
        ("resident.move_out", date(2025, 10, 1), date(2025, 12, 1), date(2026, 10, 1)),
        ("resident.household_change", date(2024, 2, 29), date(2024, 3, 1), date(2025, 3, 1)),
        # 児童扶養手当: 5 years counted from the fiscal year after completion.
        # Completed on 31 March (令和6年度): counted from 1 April 2025; a day later, from
        # 1 April 2026.
        ("child_rearing.claim", date(2025, 3, 1), date(2025, 3, 31), date(2030, 4, 1)),
        ("child_rearing.claim", date(2025, 3, 1), date(2025, 4, 1), date(2031, 4, 1)),
        ("child_rearing.status_report", date(2024, 8, 10), date(2024, 9, 2), date(2030, 4, 1)),
        # 児童手当: the city's rule; the default is the same 5 years after the fiscal year.
        ("child_allowance.claim", date(2026, 1, 5), date(2026, 2, 1), date(2031, 4, 1)),
    ],
)
def test_periods_per_procedure(
    procedure: str, received: date, completed: date, expected: date
) -> None:
    for status in ("approved", "rejected", "withdrawn"):
        assert expires_on(procedure, status, received, completed) == expected


@pytest.mark.parametrize("status", ["received", "entry", "verify", "settle", "review"])
def test_an_unfinished_application_never_expires(status: str) -> None:
    assert expires_on("resident.move_in", status, date(1990, 1, 1), None) is None
    assert expires_on("child_rearing.claim", status, date(1990, 1, 1), date(1990, 2, 1)) is None


def test_an_unknown_procedure_never_expires() -> None:
    assert expires_on("library.card", "approved", date(1990, 1, 1), date(1990, 1, 2)) is None


@given(
    received=st.dates(date(1989, 1, 8), date(2099, 12, 31)),
    days=st.integers(0, 4000),
    family=st.sampled_from(sorted(PERIODS)),
)
def test_nothing_expires_before_its_legal_minimum(received: date, days: int, family: str) -> None:
    completed = date.fromordinal(min(received.toordinal() + days, date(2099, 12, 31).toordinal()))
    expiry = expires_on(f"{family}.claim", "approved", received, completed)
    assert expiry is not None
    minimum = PERIODS[family].minimum_years or 1
    assert (expiry - received).days >= 365 * minimum
    if family != "resident":
        assert expiry.month == 4 and expiry.day == 1 and expiry > completed


def test_a_city_may_lengthen_a_period() -> None:
    table = periods({"resident": 5, "child_rearing": 10, "child_allowance": 3})
    assert expires_on(
        "resident.move_in", "approved", date(2020, 5, 1), date(2020, 5, 2), table
    ) == date(2025, 5, 1)
    assert expires_on(
        "child_rearing.claim", "approved", date(2020, 5, 1), date(2020, 5, 2), table
    ) == date(2031, 4, 1)
    assert expires_on(
        "child_allowance.claim", "approved", date(2020, 5, 1), date(2020, 5, 2), table
    ) == date(2024, 4, 1)


@pytest.mark.parametrize(
    ("years", "field"),
    [
        ({"resident": 0}, "retention.years.resident"),
        ({"child_rearing": 4}, "retention.years.child_rearing"),
        ({"child_allowance": 0}, "retention.years.child_allowance"),
        ({"library": 3}, "retention.years.library"),
    ],
)
def test_settings_cannot_shorten_a_period_below_the_minimum(
    years: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        periods(years)
    assert [e["field"] for e in caught.value.errors] == [field]
    with pytest.raises(ValidationError, match=field):
        RetentionSettings(years=years)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MADOGUCHI_RETENTION__YEARS", '{"child_rearing": 7}')
    assert Settings().retention.periods()["child_rearing"].years == 7
    monkeypatch.setenv("MADOGUCHI_RETENTION__YEARS", '{"child_rearing": 2}')
    with pytest.raises(ValidationError, match="child_rearing"):
        Settings()
