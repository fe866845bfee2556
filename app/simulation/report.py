"""The comparison as a table: one row per month, pooled beside separate desks (Markdown)."""

from app.simulation.whatif import Comparison, DeskResult, MonthPlan


def _plan(plan: MonthPlan) -> str:
    vendor = f" (委託 {plan.vendor_operators})" if plan.vendor_operators else ""
    return f"{plan.operators}{vendor} / {plan.reviewers}"


def table(comparison: Comparison) -> str:
    """Month, applications received, staff and share within due dates, pooled and separate."""
    lines = [
        "| 月 (month) | 受付 (received) | 集約 入力/審査 (pooled operators/reviewers) "
        "| 集約 期限内 (within due) | 個別 入力/審査 (separate) | 個別 期限内 "
        "| 差 (people saved) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for month in range(1, 13):
        pooled = comparison.pooled.months[month - 1]
        separate = comparison.separate_plan(month)
        lines.append(
            f"| {month} | {pooled.received:,} | {_plan(pooled.plan)} | {pooled.share:.1%} "
            f"| {_plan(separate)} | {comparison.separate_share(month):.1%} "
            f"| {separate.people - pooled.plan.people} |"
        )
    pooled_year = sum(m.plan.people for m in comparison.pooled.months)
    separate_year = sum(comparison.separate_plan(m).people for m in range(1, 13))
    lines.append(
        f"| 計 (person-months) | {comparison.cases:,} | {pooled_year} "
        f"| {comparison.pooled.share:.1%} | {separate_year} | "
        f"{_separate_share(comparison):.1%} | {separate_year - pooled_year} |"
    )
    return "\n".join(lines)


def _separate_share(comparison: Comparison) -> float:
    rows = [m for desk in comparison.separate.values() for m in desk.months]
    due = sum(r.due for r in rows)
    return sum(r.within for r in rows) / due if due else 1.0


def details(comparison: Comparison) -> str:
    """Per month of the pooled plan: utilisation, deepest queue and oldest open application."""
    return desk_table(comparison.pooled)


def desk_table(desk: DeskResult) -> str:
    """Per month of one desk's plan: share within due, utilisation, deepest queue, oldest."""
    lines = [
        "| 月 | 入力/審査 (operators/reviewers) | 期限内 (within due) "
        "| 入力 稼働率 (operator utilisation) | 審査 稼働率 (reviewer utilisation) "
        "| 最大待ち作業 (max open tasks) | 最古 (oldest, working days) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in desk.months:
        busy = row.utilisation
        lines.append(
            f"| {row.month} | {_plan(row.plan)} | {row.share:.1%} "
            f"| {busy['operators']:.0%} | {busy['reviewers']:.0%} | {row.depth_max} "
            f"| {row.age_max:.1f} |"
        )
    return "\n".join(lines)
