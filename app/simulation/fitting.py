"""The simulator's input fitted from one municipality's own event log (``--from-log``).

Volumes. Applications received per procedure over the window of the log (at most the last
year). Where the window covers a whole year (365 days or more), the yearly volume is the count
and the monthly shape is the log's own counts per month. Where it is shorter, the yearly volume
is the count divided by the share of the year's applications that the profile's seasonal shape
(its monthly weights and peak days) puts on the window's open days: forty days of April at
15 % of the year give 100 / 0.15 a year, not 100 × 365 / 40. The share received at the counter
(channel ``counter``) replaces ``counter_share``.

Service times. Per procedure and step, the working minutes from the last claim to completion
(spans over 8 hours are left out: the task was left overnight). A lognormal fitted by maximum
likelihood: μ and σ are the mean and the (population) standard deviation of the logarithms; the
step's mean minutes exp(μ + σ²/2) and its coefficient of variation √(exp(σ²) − 1) replace the
profile's.

Fall back: a procedure with fewer than ``least`` applications keeps the profile's volume and
shape (scaled to the population); a step with fewer than ``least`` spans keeps the profile's
minutes and spread. Every line says which it was.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.applications import TaskKind
from app.domain.deadlines import Calendar
from app.simulation.profile import ProcedureProfile, Profile

LEAST = 30
FULL_YEAR = 365
COUNTER_CHANNEL = "counter"


@dataclass(frozen=True)
class Lognormal:
    mean: float
    cv: float
    n: int


@dataclass(frozen=True)
class Received:
    """One application in the log: its procedure, channel and day of receipt (JST)."""

    procedure: str
    channel: str
    day: date


@dataclass(frozen=True)
class FitLine:
    """What became of one input: ``fitted`` from the log or ``default`` (the profile's)."""

    procedure: str
    item: str  # "volume" or a step (entry, verify, settle, review)
    source: str  # "fitted" or "default"
    samples: int
    value: float  # yearly applications, or mean minutes
    spread: float | None = None  # counter share (volume) or cv (step)


@dataclass(frozen=True)
class LogFit:
    profile: Profile
    lines: tuple[FitLine, ...]
    first: date
    last: date
    ignored: tuple[str, ...]  # procedures in the log the profile does not model


def fit_lognormal(samples: Sequence[float]) -> Lognormal:
    """Maximum likelihood lognormal of positive samples, as its mean and cv."""
    logs = [math.log(x) for x in samples]
    mu = sum(logs) / len(logs)
    sigma2 = sum((v - mu) ** 2 for v in logs) / len(logs)
    return Lognormal(math.exp(mu + sigma2 / 2), math.sqrt(math.expm1(sigma2)), len(samples))


def _peak_weight(spec: ProcedureProfile, day: date) -> float:
    return math.prod(p.factor for p in spec.peaks if p.covers(day))


def year_share(spec: ProcedureProfile, days: Iterable[date], calendar: Calendar) -> float:
    """The share of a year's applications the profile's shape puts on ``days`` (open ones)."""
    total = sum(spec.months) or 1.0
    month_weight: dict[tuple[int, int], float] = {}
    share = 0.0
    for day in days:
        if calendar.is_closed(day):
            continue
        key = (day.year, day.month)
        if key not in month_weight:
            month_weight[key] = sum(
                _peak_weight(spec, d) for d in _month(day) if not calendar.is_closed(d)
            )
        weight = month_weight[key]
        if weight:
            share += spec.months[day.month - 1] / total * _peak_weight(spec, day) / weight
    return share


def _month(day: date) -> list[date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=i) for i in range((following - first).days)]


def fit_log(
    base: Profile,
    received: Sequence[Received],
    spans: dict[tuple[str, str], list[float]],
    first: date,
    last: date,
    *,
    least: int = LEAST,
    calendar: Calendar | None = None,
) -> LogFit:
    """``base`` with volumes and service times fitted where the log has ``least`` samples."""
    calendar = calendar or Calendar()
    first = max(first, last - timedelta(days=FULL_YEAR - 1))
    window = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    whole_year = len(window) >= FULL_YEAR
    by_procedure: dict[str, list[Received]] = defaultdict(list)
    for row in received:
        if first <= row.day <= last:
            by_procedure[row.procedure].append(row)
    lines: list[FitLine] = []
    procedures: dict[str, ProcedureProfile] = {}
    for code, spec in base.procedures.items():
        rows = by_procedure.get(code, [])
        update: dict[str, object] = {}
        if len(rows) >= least:
            if whole_year:
                monthly = [0.0] * 12
                for row in rows:
                    monthly[row.day.month - 1] += 1
                yearly = float(len(rows))
                update["months"] = tuple(monthly)
                update["peaks"] = ()
            else:
                share = year_share(spec, window, calendar)
                yearly = len(rows) / share if share else float(len(rows))
            counter = sum(r.channel == COUNTER_CHANNEL for r in rows) / len(rows)
            update["per_100k"] = yearly * 100_000 / base.population
            update["counter_share"] = counter
            lines.append(FitLine(code, "volume", "fitted", len(rows), yearly, counter))
        else:
            yearly = spec.per_100k * base.population / 100_000
            lines.append(FitLine(code, "volume", "default", len(rows), yearly, spec.counter_share))
        minutes, cv = dict(spec.minutes), dict(spec.cv)
        for kind in TaskKind:
            samples = spans.get((code, kind.value), [])
            if len(samples) >= least:
                fitted = fit_lognormal(samples)
                minutes[kind], cv[kind] = round(fitted.mean, 3), round(fitted.cv, 3)
                lines.append(FitLine(code, kind.value, "fitted", len(samples), *_step(fitted)))
            else:
                spread = spec.cv.get(kind, base.service_time_cv)
                lines.append(
                    FitLine(code, kind.value, "default", len(samples), minutes[kind], spread)
                )
        update["minutes"], update["cv"] = minutes, cv
        procedures[code] = spec.model_copy(update=update)
    ignored = tuple(sorted(set(by_procedure) - set(base.procedures)))
    profile = base.model_copy(update={"procedures": procedures})
    return LogFit(profile, tuple(lines), first, last, ignored)


def _step(fitted: Lognormal) -> tuple[float, float]:
    return round(fitted.mean, 3), round(fitted.cv, 3)


def fit_table(fit: LogFit) -> str:
    """The fitted and defaulted inputs, one row each (Markdown)."""
    lines = [
        f"事象ログ {fit.first} – {fit.last} (event log window)\n",
        "| 手続 (procedure) | 項目 (item) | 出所 (source) | 件数 (samples) "
        "| 値 (yearly volume / mean minutes) | 窓口割合・変動係数 (counter share / cv) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for line in fit.lines:
        source = "推定 (fitted)" if line.source == "fitted" else "既定 (default)"
        spread = "" if line.spread is None else f"{line.spread:.2f}"
        lines.append(
            f"| {line.procedure} | {line.item} | {source} | {line.samples:,} "
            f"| {line.value:,.1f} | {spread} |"
        )
    if fit.ignored:
        lines.append(f"\nモデル外の手続 (not in the profile, left out): {', '.join(fit.ignored)}")
    return "\n".join(lines)
