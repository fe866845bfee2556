"""The questions: how a staffing plan does, and the smallest plan per month, pooled or separate.

The year runs month by month; each month starts from the work the month before left. The share
of a month is over the applications whose legal due date (rolled to an open day; 14 days from
receipt for forms without a legal clock) falls in that month: decided by the close of that day.
Applications that no staffing could finish in time (received closer to their due date than
their own steps take) are counted apart and left out of the share.

The smallest plan is found month by month, in order: it starts at the month's workload (the
working minutes of the month's arrivals over the staffed minutes of one person: 100 %
utilisation), never below what four eyes needs, and adds people to the busier pool (operators
or reviewers) until the month's share reaches the target. Later months build on the plan chosen
for the earlier ones.
"""

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.simulation.model import (
    Case,
    Days,
    Period,
    Staffing,
    State,
    arrivals,
    run_period,
)
from app.simulation.profile import Plan, Profile

POOLED = "pooled"
MAX_ROUNDS = 60


class TooLong(Exception):
    """The search went past its deadline (the console's time cap)."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TooLong("the simulation ran past its time cap")


@dataclass(frozen=True)
class MonthPlan:
    operators: int
    reviewers: int
    vendor_operators: int = 0

    @property
    def people(self) -> int:
        return self.operators + self.reviewers


@dataclass
class MonthResult:
    month: int
    received: int
    due: int  # applications due this month that some staffing could finish in time
    within: int  # of those, decided by the close of their due day
    impossible: int
    plan: MonthPlan
    utilisation: dict[str, float]
    depth_max: int
    age_max: float  # working days since receipt of the oldest undecided application

    @property
    def share(self) -> float:
        return self.within / self.due if self.due else 1.0


@dataclass
class DeskResult:
    desk: str
    months: list[MonthResult] = field(default_factory=list)
    daily: list[tuple[int, int, float, float]] = field(default_factory=list)

    @property
    def share(self) -> float:
        due = sum(m.due for m in self.months)
        return sum(m.within for m in self.months) / due if due else 1.0


@dataclass
class Comparison:
    profile: Profile
    days: Days
    target: float
    seed: int
    cases: int
    pooled: DeskResult
    separate: dict[str, DeskResult]

    def separate_plan(self, month: int) -> MonthPlan:
        plans = [desk.months[month - 1].plan for desk in self.separate.values()]
        return MonthPlan(
            sum(p.operators for p in plans),
            sum(p.reviewers for p in plans),
            sum(p.vendor_operators for p in plans),
        )

    def separate_share(self, month: int) -> float:
        rows = [desk.months[month - 1] for desk in self.separate.values()]
        due = sum(r.due for r in rows)
        return sum(r.within for r in rows) / due if due else 1.0

    def separate_depth(self) -> list[tuple[int, int]]:
        depth: dict[int, int] = defaultdict(int)
        for desk in self.separate.values():
            for day, count, _mean, _oldest in desk.daily:
                depth[day] += count
        return sorted(depth.items())


class _Desk:
    """One desk's applications through the year, month by month."""

    def __init__(self, profile: Profile, days: Days, cases: Sequence[Case]) -> None:
        self.profile, self.days, self.cases = profile, days, cases
        self.state = State()
        self.finished: dict[int, float] = {}
        self.due: dict[int, list[Case]] = defaultdict(list)
        self.received: dict[int, int] = defaultdict(int)
        for case in cases:
            self.due[case.due_month].append(case)
            self.received[days.month_of(int(case.received // profile.workday_minutes))] += 1

    def span(self, month: int) -> tuple[int, int]:
        indices = self.days.months[month]
        return indices[0], indices[-1] + 1

    def run(self, month: int, plan: MonthPlan | Staffing) -> Period:
        first, last = self.span(month)
        if isinstance(plan, MonthPlan):
            plan = Staffing(
                [0] * first + [plan.operators - plan.vendor_operators] * (last - first),
                [0] * first + [plan.vendor_operators] * (last - first),
                [0] * first + [plan.reviewers] * (last - first),
            )
        return run_period(self.profile, self.cases, plan, first, last, self.state)

    def judge(self, month: int, plan: MonthPlan, period: Period) -> MonthResult:
        due = within = impossible = 0
        for case in self.due[month]:
            if case.due - case.received < case.minimum_minutes():
                impossible += 1
                continue
            due += 1
            done = self.finished.get(case.seq, period.finished.get(case.seq))
            within += done is not None and done <= case.due
        busy, capacity = dict(period.busy), dict(period.capacity)
        busy["operators"] = busy["city_operators"] + busy["vendor_operators"]
        capacity["operators"] = capacity["city_operators"] + capacity["vendor_operators"]
        utilisation = {
            pool: busy[pool] / capacity[pool] if capacity[pool] else 0.0 for pool in busy
        }
        return MonthResult(
            month,
            self.received[month],
            due,
            within,
            impossible,
            plan,
            utilisation,
            max((d[1] for d in period.daily), default=0),
            max((d[3] for d in period.daily), default=0.0),
        )

    def accept(self, result: DeskResult, period: Period, month: MonthResult) -> None:
        self.state = period.state
        self.finished.update(period.finished)
        result.daily.extend(period.daily)
        result.months.append(month)

    def workload(self, month: int) -> tuple[float, float]:
        """Working minutes of operator and reviewer work arriving in the month."""
        operators = reviewers = 0.0
        width = self.profile.workday_minutes
        for case in self.cases:
            if self.days.month_of(int(case.received // width)) != month:
                continue
            entry, verify, settle, review = case.minutes
            keyed = entry + (verify if case.needs_verify else 0.0)
            rounds = 2 if case.returned else 1
            operators += keyed * rounds + (settle if case.mismatch else 0.0)
            reviewers += review * rounds
        return operators, reviewers


def four_eyes_floor(cases: Sequence[Case]) -> tuple[int, int]:
    """The fewest operators and reviewers with whom no application can get stuck.

    Nobody who handled an application may verify, settle or review it (``excluded_from``): a
    mismatch needs a third operator; a returned form may be keyed again by a fourth, and its
    second blind verify then needs one more who has not touched it; its second review needs a
    reviewer other than the one who returned it.
    """
    operators, reviewers = 1, 1
    for case in cases:
        verify = int(case.needs_verify)
        first = 1 + verify + int(case.mismatch)
        operators = max(operators, first + (1 + verify if case.returned else 0))
        reviewers = max(reviewers, 2 if case.returned else 1)
    return operators, reviewers


def smallest_plans(
    profile: Profile,
    days: Days,
    cases: Sequence[Case],
    target: float,
    vendor_share: float = 0.0,
    desk: str = POOLED,
    deadline: float | None = None,
) -> DeskResult:
    """Month by month, the smallest plan whose share within due dates reaches ``target``."""
    state = _Desk(profile, days, cases)
    result = DeskResult(desk)
    floor_operators, floor_reviewers = four_eyes_floor(cases)
    for month in range(1, 13):
        first, last = state.span(month)
        staffed = (last - first) * profile.workday_minutes
        work_operators, work_reviewers = state.workload(month)
        operators = max(floor_operators, math.ceil(work_operators / staffed))
        reviewers = max(floor_reviewers, math.ceil(work_reviewers / staffed))
        for _round in range(MAX_ROUNDS):
            _check(deadline)
            plan = MonthPlan(operators, reviewers, round(operators * vendor_share))
            period = state.run(month, plan)
            judged = state.judge(month, plan, period)
            if judged.share >= target:
                break
            busy = judged.utilisation
            if busy["operators"] >= busy["reviewers"]:
                operators += max(1, operators // 15)
            else:
                reviewers += max(1, reviewers // 15)
        state.accept(result, period, judged)
    return result


def weekly_staffing(days: Days, plan: Plan) -> Staffing:
    """The plan's staff on every open day (by the day's ISO week)."""
    weeks = [plan.week(day.isocalendar().week) for day in days.dates]
    vendor = [round(w.operators * w.vendor_share) for w in weeks]
    return Staffing(
        [w.operators - v for w, v in zip(weeks, vendor, strict=True)],
        vendor,
        [w.reviewers for w in weeks],
    )


def evaluate(
    profile: Profile, days: Days, cases: Sequence[Case], plan: Plan, desk: str = POOLED
) -> DeskResult:
    """How a staffing plan does through the year; each month's ``plan`` is its largest week."""
    state = _Desk(profile, days, cases)
    staffing = weekly_staffing(days, plan)
    result = DeskResult(desk)
    for month in range(1, 13):
        first, last = state.span(month)
        largest = max(range(first, last), key=lambda d: staffing.city_operators[d])
        month_plan = MonthPlan(
            staffing.city_operators[largest] + staffing.vendor_operators[largest],
            max(staffing.reviewers[first:last]),
            staffing.vendor_operators[largest],
        )
        period = state.run(month, staffing)
        state.accept(result, period, state.judge(month, month_plan, period))
    return result


def compare(
    profile: Profile,
    *,
    target: float,
    seed: int,
    vendor_share: float = 0.0,
    deadline: float | None = None,
) -> Comparison:
    """The smallest plans for one pooled desk and for one desk per procedure family
    (``deadline``: a time.monotonic() past which it stops with TooLong)."""
    days = Days(profile.year)
    cases = arrivals(profile, days, seed)
    pooled = smallest_plans(profile, days, cases, target, vendor_share, deadline=deadline)
    families = sorted({c.desk for c in cases})
    separate = {
        family: smallest_plans(
            profile,
            days,
            [c for c in cases if c.desk == family],
            target,
            vendor_share,
            family,
            deadline,
        )
        for family in families
    }
    return Comparison(profile, days, target, seed, len(cases), pooled, separate)
