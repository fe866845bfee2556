"""How long personal data is kept, per procedure and record kind (DOMAIN.md §4.5, §7 rule 22).

Pure: a table of periods, the day a finished application's personal data expires, and the check
that a city's settings only lengthen a period. The job that purges lives in app/jobs/retention.py.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.domain.applications import ApplicationStatus
from app.domain.errors import InvalidInput


class Start(StrEnum):
    """The day a period is counted from."""

    RECEIPT = "receipt"  # the day the form was received
    FISCAL_YEAR_AFTER_COMPLETION = "fiscal_year_after_completion"  # 4/1 after the completion's 年度
    COMPLETION = "completion"  # the day the application was decided or withdrawn


class RecordKind(StrEnum):
    """What a purge removes from an application (never its ids, procedure, status, dates,
    counts)."""

    APPLICANT = "applicant"
    FIELDS = "fields"  # what the form says and what was keyed from it
    MY_NUMBERS = "my_numbers"  # the application held My Numbers (they go with the fields)
    OCR = "ocr"
    ATTACHMENTS = "attachments"
    TASK_RESULTS = "task_results"  # what was keyed or verified in each task
    VENDOR_PAYLOADS = "vendor_payloads"  # the copies sent to the vendor in batches


@dataclass(frozen=True)
class Period:
    years: int
    start: Start
    # The least the law allows; a city may keep longer, never shorter. None: the city decides.
    minimum_years: int | None
    source: str


# Procedure family (the part of the procedure id before the dot) -> its period.
PERIODS: dict[str, Period] = {
    # 住民基本台帳法施行令34条4項: 届出書 are kept at least 1 year from receipt (DOMAIN.md §4.5).
    "resident": Period(1, Start.RECEIPT, 1, "住基法施行令34条4項 (DOMAIN.md §4.5)"),
    # 児童扶養手当 請求書等: 5 years from the fiscal year after completion (厚生省通知 1972, §4.5).
    "child_rearing": Period(
        5, Start.FISCAL_YEAR_AFTER_COMPLETION, 5, "厚生省通知 1972 (DOMAIN.md §4.5)"
    ),
    # 児童手当: each city's 文書管理規程 sets it; default 5 years like 児童扶養手当
    # (DOMAIN.md §4.5).
    "child_allowance": Period(
        5, Start.FISCAL_YEAR_AFTER_COMPLETION, None, "市の文書管理規程 (DOMAIN.md §4.5)"
    ),
}

# Access logs: the city's period (DOMAIN.md §7 rule 12, §4.4). Not purged by the job: the rows are
# sealed in the tamper-evident chain, which a deletion would break.
ACCESS_LOG_YEARS = 5

FINISHED = frozenset(
    {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
)


def family(procedure: str) -> str:
    return procedure.split(".", 1)[0]


def fiscal_year_after(day: date) -> date:
    """1 April of the fiscal year (年度, April to March) after the one that holds ``day``."""
    fiscal_year = day.year if day.month >= 4 else day.year - 1
    return date(fiscal_year + 1, 4, 1)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none: the period ends on 1 March
        return date(day.year + years, 3, 1)


def periods(overrides: dict[str, int] | None = None) -> dict[str, Period]:
    """The table with a city's longer periods applied; a shorter one than the law allows is
    refused."""
    table = dict(PERIODS)
    errors = []
    for name, years in (overrides or {}).items():
        base = table.get(name)
        if base is None:
            errors.append(
                (
                    f"retention.years.{name}",
                    "unknown",
                    f"保存期間の分類がありません (no such record class): {name}",
                )
            )
            continue
        floor = base.minimum_years if base.minimum_years is not None else 1
        if years < floor:
            errors.append(
                (
                    f"retention.years.{name}",
                    "below_minimum",
                    f"保存期間は{floor}年未満にできません (retention cannot be shorter than "
                    f"{floor} year(s))",
                )
            )
            continue
        table[name] = Period(years, base.start, base.minimum_years, base.source)
    if errors:
        raise InvalidInput(
            "保存期間の設定に誤りがあります (invalid retention periods)",
            [{"field": f, "code": c, "message": m} for f, c, m in errors],
        )
    return table


def expires_on(
    procedure: str,
    status: str,
    received_on: date,
    completed_on: date | None,
    table: dict[str, Period] | None = None,
) -> date | None:
    """The first day the application's personal data may be purged; None while it must stay.

    Only finished applications (approved, rejected, withdrawn) expire; a procedure without a
    period in the table never does.
    """
    if status not in FINISHED:
        return None
    period = (table or PERIODS).get(family(procedure))
    if period is None:
        return None
    if period.start is Start.RECEIPT:
        start = received_on
    else:
        if completed_on is None:
            return None
        after = period.start is Start.FISCAL_YEAR_AFTER_COMPLETION
        start = fiscal_year_after(completed_on) if after else completed_on
    return _add_years(start, period.years)
