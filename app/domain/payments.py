"""児童手当 payment schedule after the October 2024 reform (DOMAIN.md §1.3, §7.20).

Pure date arithmetic: which months a recognised claim pays, and on which day each pair of
months is paid.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.domain.deadlines import Calendar
from app.domain.eligibility import (
    ELIGIBLE_AGE,
    Child,
    fiscal_year_end_after_age,
    monthly_amount,
    third_child_ranks,
)

# 児童手当法8条4項 (令和6年改正): paid in February, April, June, August, October and December,
# each time for the months up to the one before.
PAYMENT_MONTHS = (2, 4, 6, 8, 10, 12)
# 令和6年改正法附則: the even-month schedule and its amounts start with 令和6年10月分.
SCHEDULE_FROM = date(2024, 10, 1)
# 児童手当法8条2項・3項 (15日特例): a claim within 15 days after the birth or the 転出予定日 counts
# as made in the month of that event.
SPECIAL_CASE_DAYS = 15
# The city sets the day (commonly the 10th); the same default as most cities' 支給日.
DEFAULT_PAYMENT_DAY = 10


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def first_paid_month(claimed_on: date, event_on: date | None = None) -> date:
    """児童手当法8条2項: from the month after the claim; under the 15日特例, after the event.

    ``event_on``: the birth or the 転出予定日 at the previous municipality (None: no 特例).
    """
    if event_on is not None and event_on <= claimed_on <= event_on + timedelta(
        days=SPECIAL_CASE_DAYS
    ):
        return add_months(month_start(event_on), 1)
    return add_months(month_start(claimed_on), 1)


def payment_month_of(month: date) -> date:
    """The even month that pays ``month``: the next even month after it (January → February)."""
    return add_months(month_start(month), 1 if month.month % 2 else 2)


def payment_day(month: date, day: int, calendar: Calendar) -> date:
    """The city's payment day of ``month``, moved back to the previous open day when closed.

    Back, not forward (a recommendation; the law sets only the month, 8条4項): cities announce
    「支払日が土日祝日の場合はその前の金融機関営業日」, a household budgets on the announced day,
    and a few days back from the 10th never leaves the 支払期月.
    """
    paid = date(month.year, month.month, day)
    while calendar.is_closed(paid):
        paid -= timedelta(days=1)
    return paid


@dataclass(frozen=True)
class Payment:
    pay_on: date
    months: tuple[date, ...]  # the first day of each month paid
    amount: int


def payment_schedule(
    first_month: date,
    amount_for: Callable[[date], int],
    *,
    last_month: date,
    calendar: Calendar,
    day: int = DEFAULT_PAYMENT_DAY,
) -> list[Payment]:
    """Payments for the months ``first_month``..``last_month`` (消滅 month included, 8条2項).

    ``amount_for(month)`` is the allowance for one month (its first day); a month worth nothing
    is not paid. Months before 令和6年10月 belong to the old schedule and are left out. The
    last instalment follows the schedule too; 8条4項 ただし書 lets a city pay it at once instead.
    """
    if not 1 <= day <= 28:
        raise ValueError("the payment day is 1–28, a day every month has")
    month = max(month_start(first_month), SCHEDULE_FROM)
    end = month_start(last_month)
    grouped: dict[date, list[tuple[date, int]]] = {}
    while month <= end:
        amount = amount_for(month)
        if amount > 0:
            grouped.setdefault(payment_month_of(month), []).append((month, amount))
        month = add_months(month, 1)
    return [
        Payment(
            pay_on=payment_day(paid_in, day, calendar),
            months=tuple(m for m, _ in items),
            amount=sum(a for _, a in items),
        )
        for paid_in, items in sorted(grouped.items())
    ]


def claim_amount(children: Iterable[Child], month: date) -> int:
    """The allowance for one month: each child's amount, ranked as on the month's first day."""
    items = list(children)
    ranks = third_child_ranks(items, month)
    return sum(monthly_amount(c.born, r, month) for c, r in zip(items, ranks, strict=True))


def last_eligible_month(children: Iterable[Child]) -> date | None:
    """The March of the 18-year 年度末 of the youngest child: no month is paid after it."""
    ends = [fiscal_year_end_after_age(c.born, ELIGIBLE_AGE) for c in children]
    return month_start(max(ends)) if ends else None


def _iso(value: object) -> date | None:
    if isinstance(value, Mapping):
        value = value.get("iso")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _month_text(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def claim_schedule(
    values: Mapping[str, Any],
    claimed_on: date,
    *,
    calendar: Calendar,
    day: int = DEFAULT_PAYMENT_DAY,
    end_month: date | None = None,
    limit: int = 6,
) -> dict[str, Any] | None:
    """The schedule of a recognised 認定請求 (its normalised values), the first ``limit`` payments.

    ``claimed_on``: the day the office received the claim. Without an end month (受給事由消滅)
    the schedule runs to the youngest child's 18-year 年度末; None when no child has a date.
    """
    children = [
        Child(born, bool(child.get("older_child_confirmation")))
        for child in values.get("children") or []
        if isinstance(child, Mapping) and (born := _iso(child.get("birth_date"))) is not None
    ]
    last = end_month or last_eligible_month(children)
    if last is None:
        return None
    reason = values.get("claim_reason")
    event = {
        "birth": _iso(values.get("reason_date")),
        "move_in": _iso(values.get("planned_move_out_date")),
    }.get(str(reason))
    first = first_paid_month(claimed_on, event)
    payments = payment_schedule(
        first,
        lambda month: claim_amount(children, month),
        last_month=last,
        calendar=calendar,
        day=day,
    )
    return {
        "first_month": _month_text(max(first, SCHEDULE_FROM)),
        "last_month": _month_text(last),
        "payment_day": day,
        "payments": [
            {
                "pay_on": p.pay_on.isoformat(),
                "months": [_month_text(m) for m in p.months],
                "amount": p.amount,
            }
            for p in payments[:limit]
        ],
        "payments_total": len(payments),
    }
