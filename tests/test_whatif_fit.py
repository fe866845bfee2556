"""The what-if's input fitted from an event log: known parameters come back (pure part).

Tolerances: lognormal mean and cv within 5 % from 4,000 samples (their standard errors are
about 1 % and 2 %); a yearly volume of 30,000 seen over 40 days of March–April (about 5,500
applications) within 5 %; the counter share within 0.03.
"""

import math
from datetime import date, timedelta

import numpy as np

from app.domain.applications import TaskKind
from app.domain.deadlines import Calendar
from app.simulation.fitting import Received, fit_log, fit_lognormal, fit_table, year_share
from app.simulation.profile import load_profile

CODE = "resident.move_in"


def lognormal(rng: np.random.Generator, mean: float, cv: float, n: int) -> list[float]:
    sigma2 = math.log(1 + cv**2)
    return np.exp(rng.normal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)).tolist()


def test_lognormal_mean_and_cv_come_back() -> None:
    rng = np.random.default_rng(3)
    fitted = fit_lognormal(lognormal(rng, 12.0, 0.6, 4000))
    assert abs(fitted.mean / 12.0 - 1) < 0.05
    assert abs(fitted.cv / 0.6 - 1) < 0.05
    assert fitted.n == 4000


def synthetic_log(
    first: date, days: int, yearly: float, counter: float, seed: int = 5
) -> list[Received]:
    """Applications drawn day by day with the profile's own seasonal shape."""
    rng = np.random.default_rng(seed)
    spec = load_profile().procedures[CODE]
    rows = []
    for i in range(days):
        day = first + timedelta(days=i)
        expected = yearly * year_share(spec, [day], Calendar())
        for _ in range(int(rng.poisson(expected))):
            channel = "counter" if rng.random() < counter else "online"
            rows.append(Received(CODE, channel, day))
    return rows


def test_volume_counter_share_and_service_times_come_back_from_forty_days() -> None:
    base = load_profile().scaled(300_000)
    first, last = date(2026, 3, 10), date(2026, 4, 18)
    received = synthetic_log(first, 40, 30_000, 0.4)
    rng = np.random.default_rng(9)
    spans = {
        (CODE, "entry"): lognormal(rng, 14.0, 0.8, 4000),
        (CODE, "review"): lognormal(rng, 6.0, 0.3, 4000),
        (CODE, "verify"): lognormal(rng, 3.0, 0.5, 12),  # too few: the profile's stays
    }
    fit = fit_log(base, received, spans, first, last, least=30)
    spec = fit.profile.procedures[CODE]
    yearly = spec.per_100k * base.population / 100_000
    assert abs(yearly / 30_000 - 1) < 0.05, yearly
    assert abs(spec.counter_share - 0.4) < 0.03
    assert abs(spec.minutes[TaskKind.ENTRY] / 14.0 - 1) < 0.05
    assert abs(spec.cv[TaskKind.ENTRY] / 0.8 - 1) < 0.05
    assert abs(spec.minutes[TaskKind.REVIEW] / 6.0 - 1) < 0.05
    default = base.procedures[CODE]
    assert spec.minutes[TaskKind.VERIFY] == default.minutes[TaskKind.VERIFY]
    assert spec.months == default.months  # shorter than a year: the profile's shape stays
    lines = {(line.procedure, line.item): line for line in fit.lines}
    assert lines[CODE, "volume"].source == "fitted"
    assert lines[CODE, "entry"].source == "fitted"
    assert (lines[CODE, "verify"].source, lines[CODE, "verify"].samples) == ("default", 12)
    # Procedures the log does not have keep the profile's volume, and say so.
    other = lines["resident.move_out", "volume"]
    assert other.source == "default" and other.samples == 0
    assert fit.profile.procedures["resident.move_out"] == base.procedures["resident.move_out"]
    assert "既定 (default)" in fit_table(fit) and "推定 (fitted)" in fit_table(fit)


def test_a_whole_year_gives_its_own_months_and_a_short_log_is_not_scaled_linearly() -> None:
    base = load_profile().scaled(300_000)
    first = date(2025, 1, 1)
    received = synthetic_log(first, 365, 20_000, 0.7)
    fit = fit_log(base, received, {}, first, date(2025, 12, 31))
    spec = fit.profile.procedures[CODE]
    assert abs(spec.per_100k * 3 - len(received)) < 1e-6
    assert sum(spec.months) == len(received) and spec.peaks == ()
    assert spec.months[2] > 1.8 * spec.months[0]  # March's peak is the log's own

    # Ten April days at the peak: a linear 365/10 would say about 3 times too much.
    april = [r for r in received if date(2025, 3, 24) <= r.day <= date(2025, 4, 2)]
    short = fit_log(base, april, {}, date(2025, 3, 24), date(2025, 4, 2))
    yearly = short.profile.procedures[CODE].per_100k * 3
    assert abs(yearly / 20_000 - 1) < 0.1, yearly
    assert len(april) * 365 / 10 > 2 * yearly


def test_applications_outside_the_window_and_unknown_procedures_are_left_out() -> None:
    base = load_profile().scaled(100_000)
    first, last = date(2026, 6, 1), date(2026, 6, 30)
    received = synthetic_log(first, 30, 10_000, 0.5)
    before = [Received(CODE, "counter", date(2026, 5, 1))] * 500
    unknown = [Received("not.modelled", "online", date(2026, 6, 2))] * 40
    plain = fit_log(base, received, {}, first, last)
    noisy = fit_log(base, received + before + unknown, {}, first, last)
    assert plain.profile == noisy.profile
    assert noisy.ignored == ("not.modelled",)
