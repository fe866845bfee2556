"""Due dates of applications (DOMAIN.md §1.5, §7.5) and the counter calendar they roll on."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from app.domain.catalogue import (
    AnnualWindow,
    Cases,
    DaysAfter,
    Earliest,
    Procedure,
    Promptly,
    parse_condition,
)

HOLIDAY_YEARS = range(2020, 2100)


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * (n - 1))


def _equinox_day(year: int, base: float) -> int:
    # The usual approximation (valid 1980–2099) of the day the 国立天文台 announces each
    # February for the following year; checked against the published days for 2020–2030.
    return int(base + 0.242194 * (year - 1980) - (year - 1980) // 4)


def _named_holidays(year: int) -> set[date]:
    """国民の祝日に関する法律 第2条, with the 2020/2021 Olympic moves."""
    days = {
        date(year, 1, 1),
        _nth_monday(year, 1, 2),
        date(year, 2, 11),
        date(year, 2, 23),
        date(year, 3, _equinox_day(year, 20.8431)),
        date(year, 4, 29),
        date(year, 5, 3),
        date(year, 5, 4),
        date(year, 5, 5),
        _nth_monday(year, 9, 3),
        date(year, 9, _equinox_day(year, 23.2488)),
        date(year, 11, 3),
        date(year, 11, 23),
    }
    olympic = {  # 海の日, スポーツの日, 山の日 moved by the 2020 Tokyo Olympics special act
        2020: (date(2020, 7, 23), date(2020, 7, 24), date(2020, 8, 10)),
        2021: (date(2021, 7, 22), date(2021, 7, 23), date(2021, 8, 8)),
    }
    if year in olympic:
        days.update(olympic[year])
    else:
        days.update({_nth_monday(year, 7, 3), _nth_monday(year, 10, 2), date(year, 8, 11)})
    return days


@cache
def _holidays(year: int) -> frozenset[date]:
    named = _named_holidays(year)
    days = set(named)
    for holiday in sorted(named):
        # 振替休日 (第3条2項): a holiday on a Sunday moves to the next day that is not one.
        if holiday.weekday() == 6:
            substitute = holiday + timedelta(days=1)
            while substitute in named:
                substitute += timedelta(days=1)
            days.add(substitute)
        # 国民の休日 (第3条3項): a plain day between two holidays is a holiday too.
        between = holiday + timedelta(days=1)
        if between not in named and between + timedelta(days=1) in named:
            days.add(between)
    return frozenset(days)


def japanese_holidays(year: int) -> set[date]:
    """National holidays of ``year`` incl. 振替休日 and 国民の休日 (2020–2099)."""
    if year not in HOLIDAY_YEARS:
        raise ValueError(f"national holidays are computed for 2020–2099, not {year}")
    return set(_holidays(year))


def _year_end(day: date) -> bool:
    # 12/29–1/3: the 休日 of 地方自治法4条の2 and municipal ordinances; offices are closed.
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class Calendar:
    """Days the counters are closed: weekends, national holidays, 12/29–1/3, local closures.

    ``holidays=None`` uses the built-in national holidays; years outside 2020–2099 then
    count weekends and the year end only. Pass a set to use another source instead.
    """

    holidays: frozenset[date] | None = None
    extra_closed: frozenset[date] = field(default_factory=frozenset)

    def is_closed(self, day: date) -> bool:
        """Whether no counter is open on ``day``."""
        if day.weekday() >= 5 or _year_end(day) or day in self.extra_closed:
            return True
        if self.holidays is not None:
            return day in self.holidays
        return day.year in HOLIDAY_YEARS and day in _holidays(day.year)

    def roll_forward(self, day: date) -> date:
        """``day`` itself when open, else the next open day (地方自治法4条の2④)."""
        while self.is_closed(day):
            day += timedelta(days=1)
        return day


def as_date(value: object) -> date | None:
    """An exact date from a normalised value (``{"iso": ...}``), an ISO text or a date."""
    if isinstance(value, Mapping):
        value = value.get("iso")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _raw_due(rule: object, values: Mapping[str, object], received_on: date) -> date | None:
    if isinstance(rule, DaysAfter):
        base = as_date(values.get(rule.base))
        return base + timedelta(days=rule.days) if base else None
    if isinstance(rule, AnnualWindow):
        return date(received_on.year, rule.month, rule.last_day)
    if isinstance(rule, Earliest):
        dues = [d for r in rule.rules if (d := _raw_due(r, values, received_on)) is not None]
        # 特例転入: both clocks must be met, so a missing clock cannot be skipped.
        return min(dues) if len(dues) == len(rule.rules) else None
    if isinstance(rule, Promptly):
        return None  # 速やかに: no date to count to
    if isinstance(rule, Cases):
        for case in rule.cases:
            if case.when is None or parse_condition(case.when).evaluate(values):
                return _raw_due(case.rule, values, received_on)
        return None
    raise TypeError(f"unknown deadline rule {rule!r}")


def due_date(
    procedure: Procedure, values: Mapping[str, object], received_on: date, calendar: Calendar
) -> date | None:
    """When the filing is due, rolled to an open day; None when there is no clock or base date."""
    if procedure.deadline is None:
        return None
    raw = _raw_due(procedure.deadline.rule, values, received_on)
    return calendar.roll_forward(raw) if raw is not None else None
