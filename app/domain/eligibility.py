"""Who counts, and until when: 児童手当 after the October 2024 reform and 児童扶養手当's stop.

Pure date arithmetic; every function takes the dates it needs and nothing else.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

# 児童手当法4条1項1号 (令和6年改正): a 児童 is counted until the first 31 March after turning 18.
ELIGIBLE_AGE = 18
# 児童手当法18条3項・施行令 (令和6年改正): older siblings count for the third-child amount until
# the first 31 March after turning 22, when the claimant bears their costs (確認書 on file).
COUNTING_AGE = 22
# 児童扶養手当法13条の3第1項: 5 years from the first month of payment, or 7 years from the month
# the claimant first met the conditions, whichever comes first.
PARTIAL_STOP_YEARS_FROM_START = 5
PARTIAL_STOP_YEARS_FROM_CAUSE = 7
# 同項括弧書: a claimant caring for a child under 3 on the claim day counts 5 years from the month
# after the child turns 3.
YOUNG_CHILD_AGE = 3


def _add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def reaches_age_on(born: date, age: int) -> date:
    """The day a person legally reaches ``age``: the eve of the birthday (年齢計算ニ関スル法律).

    Someone born on 1 April reaches 18 on 31 March, which is why a 4/1 birthday belongs to the
    earlier school year (学校教育法17条 counts ages the same way).
    """
    return _add_years(born, age) - timedelta(days=1)


def fiscal_year_end_after_age(born: date, age: int) -> date:
    """The first 31 March on or after the day ``age`` is reached (年度末 after the birthday)."""
    reached = reaches_age_on(born, age)
    end = date(reached.year, 3, 31)
    return end if reached <= end else date(reached.year + 1, 3, 31)


def age_on(born: date, on: date) -> int:
    """Age in whole years on ``on``, counted as the law does (a year ends on the birthday eve)."""
    years = on.year - born.year + 1  # the eve of 1 January's birthday falls a year early
    while years > 0 and reaches_age_on(born, years) > on:
        years -= 1
    return years


def is_eligible_child(born: date, on: date) -> bool:
    """A 支給要件児童 on ``on``: born by then and not past the 年度末 after turning 18."""
    return born <= on <= fiscal_year_end_after_age(born, ELIGIBLE_AGE)


def counts_for_rank(born: date, on: date, *, costs_confirmed: bool) -> bool:
    """Whether a child counts when ranking children for the third-child amount.

    Up to the 18-year 年度末 every child counts; from then to the 22-year 年度末 only with the
    監護相当・生計費負担確認書. Counting is not eligibility: a counted 20-year-old gets nothing.
    """
    if is_eligible_child(born, on):
        return True
    return costs_confirmed and born <= on <= fiscal_year_end_after_age(born, COUNTING_AGE)


@dataclass(frozen=True)
class Child:
    born: date
    costs_confirmed: bool = False  # 確認書 for a child past the 18-year 年度末


def third_child_ranks(children: Iterable[Child], on: date) -> list[int | None]:
    """Each child's rank (1 = eldest counted) in the given order; None when not counted."""
    items = list(children)
    counted = [
        i
        for i, c in enumerate(items)
        if counts_for_rank(c.born, on, costs_confirmed=c.costs_confirmed)
    ]
    order = sorted(counted, key=lambda i: items[i].born)
    ranks: list[int | None] = [None] * len(items)
    for rank, index in enumerate(order, start=1):
        ranks[index] = rank
    return ranks


def monthly_amount(born: date, rank: int | None, on: date) -> int:
    """児童手当法6条 (令和6年10月分から): ¥15,000 under 3, ¥10,000 after, ¥30,000 from the third."""
    if rank is None or not is_eligible_child(born, on):
        return 0
    if rank >= 3:
        return 30_000
    return 15_000 if age_on(born, on) < YOUNG_CHILD_AGE else 10_000


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partial_stop_from(
    payment_start: date,
    cause: date,
    *,
    youngest_born: date | None = None,
    claimed_on: date | None = None,
) -> date:
    """The first month (its day 1) of 児童扶養手当's 一部支給停止 (法13条の3).

    ``payment_start``: any day of the first month paid; ``cause``: the day the conditions were
    first met. With a child under 3 on ``claimed_on``, the 5 years run from the month after that
    child turns 3. The stop applies from the month after the period has fully elapsed.
    """
    five_from = _month_start(payment_start)
    if (
        youngest_born is not None
        and claimed_on is not None
        and age_on(youngest_born, claimed_on) < YOUNG_CHILD_AGE
    ):
        five_from = _add_months(_month_start(reaches_age_on(youngest_born, YOUNG_CHILD_AGE)), 1)
    five = _add_months(five_from, 12 * PARTIAL_STOP_YEARS_FROM_START)
    seven = _add_months(_month_start(cause), 12 * PARTIAL_STOP_YEARS_FROM_CAUSE)
    return min(five, seven)


def partial_stop_applies(
    payment_start: date,
    cause: date,
    on: date,
    *,
    youngest_born: date | None = None,
    claimed_on: date | None = None,
) -> bool:
    """Whether ``on`` falls in the 一部支給停止 period (an 適用除外届 is then expected)."""
    return on >= partial_stop_from(
        payment_start, cause, youngest_born=youngest_born, claimed_on=claimed_on
    )
