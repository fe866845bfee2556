"""What arrives at the central queue: open days counted in working minutes, and the cases a
profile brings (each with its legal due date from app.domain)."""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache

import numpy as np

from app.domain.applications import (
    DEFAULT_SERVICE_LEVEL,
    ApplicationStatus,
    TaskKind,
    always_verified,
    urgency_of,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import TOKYO
from app.domain.deadlines import Calendar, due_date
from app.simulation.profile import Profile

OPENING = time(8, 30)
STEPS = (TaskKind.ENTRY, TaskKind.VERIFY, TaskKind.SETTLE, TaskKind.REVIEW)
POOLS = ("city_operators", "vendor_operators", "reviewers")


class Days:
    """The open days of a year (and of the next quarter, where late due dates fall)."""

    def __init__(self, year: int, calendar: Calendar | None = None) -> None:
        self.year = year
        self.calendar = calendar or Calendar()
        self.dates: list[date] = []
        self.index: dict[date, int] = {}
        day, end = date(year, 1, 1), date(year + 1, 4, 1)
        while day < end:
            if not self.calendar.is_closed(day):
                self.index[day] = len(self.dates)
                self.dates.append(day)
            day += timedelta(days=1)
        self.months = {
            m: [i for i, d in enumerate(self.dates) if d.year == year and d.month == m]
            for m in range(1, 13)
        }
        self.end_of_year = self.months[12][-1] + 1

    def of(self, day: date) -> int:
        """The index of ``day`` rolled forward to an open day (past the range: one beyond)."""
        rolled = self.calendar.roll_forward(day)
        return self.index.get(rolled, len(self.dates))

    def month_of(self, index: int) -> int:
        """1–12 for a day of the year, 13 for a day after it."""
        if index >= len(self.dates) or self.dates[index].year != self.year:
            return 13
        return self.dates[index].month


@dataclass(slots=True, eq=False)
class Case:
    """One application, with everything random about it drawn once at arrival."""

    seq: int
    procedure: str
    desk: str
    received: float  # working minute
    due: float  # working minute at the close of its due day
    due_month: int  # 1–12, 13 after the year
    urgency: int
    needs_verify: bool
    minutes: tuple[float, float, float, float]  # entry, verify, settle, review
    mismatch: bool  # the first blind verify disagrees
    returned: bool  # the first review returns it for correction
    rejected: bool
    status: ApplicationStatus = ApplicationStatus.ENTRY
    handled_by: list[str] = field(default_factory=list)
    entry_employer: str | None = None
    verified: int = 0
    reviewed: int = 0

    def minimum_minutes(self) -> float:
        """The shortest time from receipt to decision with nobody waiting."""
        entry, verify, settle, review = self.minutes
        path = entry + review + (verify if self.needs_verify else 0.0)
        path += settle if self.needs_verify and self.mismatch else 0.0
        return path * (2 if self.returned else 1)

    def fresh(self) -> "Case":
        """A copy to run (runs change status and handlers; the drawn year stays as drawn)."""
        return Case(
            self.seq,
            self.procedure,
            self.desk,
            self.received,
            self.due,
            self.due_month,
            self.urgency,
            self.needs_verify,
            self.minutes,
            self.mismatch,
            self.returned,
            self.rejected,
            self.status,
            list(self.handled_by),
            self.entry_employer,
            self.verified,
            self.reviewed,
        )


def desk_of(procedure: str) -> str:
    """The separate desk a procedure belongs to: its family (resident, child_allowance, …)."""
    return procedure.split(".", 1)[0]


@cache
def _due_on(code: str, values: tuple[tuple[str, str], ...], received: date) -> date | None:
    procedure = load_catalogue().get(code)
    return due_date(procedure, dict(values), received, Calendar())


def received_at(days: Days, minute: float, width: int) -> datetime:
    """The moment of a working minute: its open day from 08:30 JST."""
    index = int(minute // width)
    opening = datetime.combine(days.dates[index], OPENING, TOKYO)
    return opening + timedelta(minutes=minute - index * width)


def new_case(
    code: str,
    values: dict[str, str],
    minute: float,
    days: Days,
    width: int,
    minutes: tuple[float, float, float, float],
    *,
    waiting: bool,
    needs_verify: bool,
    mismatch: bool = False,
    returned: bool = False,
    rejected: bool = False,
) -> Case:
    """An application received at working minute ``minute``: its legal due date from the
    procedure's deadline rule over ``values`` (ISO dates), its place in the queue from
    ``urgency_of`` (``waiting``: a resident waits at the counter)."""
    moment = received_at(days, minute, width)
    day = days.dates[int(minute // width)]
    due_on = _due_on(code, tuple(sorted(values.items())), day)
    urgency = urgency_of(due_on, moment, resident_waiting=waiting)
    target = due_on or days.calendar.roll_forward(day + DEFAULT_SERVICE_LEVEL)
    due_index = days.of(target)
    return Case(
        seq=0,
        procedure=code,
        desk=desk_of(code),
        received=minute,
        due=(due_index + 1) * width,
        due_month=days.month_of(due_index),
        urgency=urgency,
        needs_verify=needs_verify,
        minutes=minutes,
        mismatch=mismatch,
        returned=returned,
        rejected=rejected,
    )


def arrivals(profile: Profile, days: Days, seed: int) -> list[Case]:
    """A year of applications drawn from the profile, in order of receipt."""
    rng = np.random.default_rng(seed)
    catalogue = load_catalogue()
    width = profile.workday_minutes
    rates = profile.rates
    cases: list[Case] = []
    for code, spec in profile.procedures.items():
        procedure = catalogue.get(code)
        verified = always_verified(procedure)
        bases = procedure.deadline_bases()
        yearly = spec.per_100k * profile.population / 100_000
        total = sum(spec.months) or 1.0
        means = [spec.minutes[k] for k in STEPS]
        sigma2 = [math.log(1 + spec.cv.get(k, profile.service_time_cv) ** 2) for k in STEPS]
        mu = [math.log(m) - s / 2 for m, s in zip(means, sigma2, strict=True)]
        sigma = [math.sqrt(s) for s in sigma2]
        for month, indices in days.months.items():
            weights = np.array(
                [
                    math.prod(p.factor for p in spec.peaks if p.covers(days.dates[i]))
                    for i in indices
                ]
            )
            expected = yearly * spec.months[month - 1] / total * weights / weights.sum()
            counts = rng.poisson(expected)
            n = int(counts.sum())
            day_of: list[int] = np.repeat(np.array(indices, dtype=int), counts).tolist()
            offset: list[float] = rng.uniform(0, width, n).tolist()
            lags: list[int] = rng.integers(spec.lag_days[0], spec.lag_days[1] + 1, n).tolist()
            waiting: list[bool] = (rng.random(n) < spec.counter_share).tolist()
            drawn: list[list[float]] = np.exp(rng.normal(mu, sigma, size=(n, 4))).tolist()
            ocr: list[bool] = (rng.random(n) < rates.ocr_low_confidence).tolist()
            mismatch, returned, rejected = (a.tolist() for a in rng.random((3, n)))
            for i in range(n):
                day = days.dates[day_of[i]]
                base = (day - timedelta(days=lags[i])).isoformat()
                needs_verify = verified or ocr[i]
                e, v, st, r = drawn[i]
                cases.append(
                    new_case(
                        code,
                        {**spec.values, **{b: base for b in bases}},
                        day_of[i] * width + offset[i],
                        days,
                        width,
                        (e, v, st, r),
                        waiting=waiting[i],
                        needs_verify=needs_verify,
                        mismatch=needs_verify and mismatch[i] < rates.mismatch,
                        returned=returned[i] < rates.return_,
                        rejected=rejected[i] < rates.reject,
                    )
                )
    cases.sort(key=lambda c: (c.received, c.procedure))
    for seq, case in enumerate(cases):
        case.seq = seq
    return cases
