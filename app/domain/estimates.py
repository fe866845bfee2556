"""Wait estimates: the models a new ticket's wait is estimated with, side by side, and the daily
report of how far off each was at the first call. Pure.

Every ticket records each model's estimate at issue (its shadow estimates); the one in use
(``IN_USE``) is the one the kiosk, the displays and the status page show. At the first call the
ticket keeps the shown estimate's error (real wait minus estimate); each other model's error
follows from it: ``error + (shown - model) × 60``.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.lobby_replay import LobbyNow, lobby_replay_minutes, new_ticket_minutes
from app.domain.lobby_stats import estimate_figures
from app.domain.tickets import estimate_wait_minutes


@dataclass(frozen=True)
class QueueNow:
    """A category's queue as a new ticket meets it."""

    ahead: int
    # The newest service times of the category (seconds), newest first.
    recent_service_s: Sequence[float]
    default_service_s: float
    # Active counters serving the category, and of those the ones not paused (calling now).
    counters: int
    counters_open: int
    # The whole lobby at issue and the new ticket's id, for ``lobby_replay`` (None where only
    # the category's figures are read: the other models' inputs).
    lobby: LobbyNow | None = None
    ticket_id: str | None = None
    # ``lobby_replay``'s answer when already known (the one replay of a kiosk press).
    replayed_min: int | None = None


def _minutes(ahead: int, per_resident_s: float, counters: int) -> int:
    if ahead <= 0:
        return 0
    return math.ceil(ahead * per_resident_s / max(1, counters) / 60)


def median_configured(queue: QueueNow) -> int:
    """Ahead × the median of recent service times / the counters configured for the category.
    The median is robust to one long case, but service times are skewed to the right: the
    median is below the mean, so the sum of many residents' times is underestimated."""
    return estimate_wait_minutes(
        ahead=queue.ahead,
        recent_service_s=list(queue.recent_service_s),
        default_service_s=queue.default_service_s,
        counters=queue.counters,
    )


def fixed_default(queue: QueueNow) -> int:
    """The naive one many systems show: ahead × the category's fixed default time / the
    counters configured; it never learns from the day."""
    return _minutes(queue.ahead, queue.default_service_s, queue.counters)


def mean_open(queue: QueueNow) -> int:
    """Ahead × the mean of recent service times (the expected value of a right-skewed
    distribution) / the counters calling now (open and not paused; all configured ones when
    every counter is paused, as they come back)."""
    per = (
        statistics.fmean(queue.recent_service_s)
        if queue.recent_service_s
        else queue.default_service_s
    )
    return _minutes(queue.ahead, per, queue.counters_open or queue.counters)


def lobby_replay(queue: QueueNow) -> int:
    """The office's lobby replayed forward from issue (app/domain/lobby_replay.py): every
    category's waiting tickets in the real call order, on the counters open now, each finishing
    the resident at it first; ``mean_open`` without the lobby or when no counter serves the
    category."""
    if queue.replayed_min is not None:
        return queue.replayed_min
    if queue.lobby is not None and queue.ticket_id is not None:
        minutes = lobby_replay_minutes(queue.lobby, queue.ticket_id)
        if minutes is not None:
            return minutes
    return mean_open(queue)


MODELS: dict[str, Callable[[QueueNow], int]] = {
    "lobby_replay": lobby_replay,
    "mean_open": mean_open,
    "median_configured": median_configured,
    "fixed_default": fixed_default,
}
# The model residents are shown.
IN_USE = "lobby_replay"
MODEL_LABELS = {
    "lobby_replay": "窓口の再現 (the lobby replayed: every category, shared counters)",
    "mean_open": "平均×稼働窓口 (mean service time, counters open now)",
    "median_configured": "中央値×設定窓口 (median service time, counters configured)",
    "fixed_default": "既定時間×設定窓口 (fixed default time, counters configured)",
}


def new_ticket_estimates(
    lobby: LobbyNow, queues: Mapping[str, QueueNow], ticket_id: str | None = None
) -> tuple[dict[str, int], int | None, frozenset[str]]:
    """The wait the kiosk would show a plain ticket issued now, per category (``queues``: each
    category's queue, its waiting residents ahead): with ``lobby_replay`` in use, one replay
    of the lobby for every category (``mean_open`` where no counter serves one); by the same
    replay ``lobby_replay``'s answer for ``ticket_id``, just issued (None: not asked, or no
    counter serves it); and the categories whose wait is the replay's."""
    if IN_USE != "lobby_replay":
        waits = {category: MODELS[IN_USE](queue) for category, queue in queues.items()}
        return waits, None, frozenset()
    replayed, ticket_min = new_ticket_minutes(lobby, queues, ticket_id)
    waits = {
        category: replayed[category] if category in replayed else mean_open(queue)
        for category, queue in queues.items()
    }
    return waits, ticket_min, frozenset(replayed.keys() & queues.keys())


def shadow_estimates(queue: QueueNow) -> dict[str, int]:
    """Each model's estimate (minutes) for this queue, the one in use among them."""
    return {name: model(queue) for name, model in MODELS.items()}


def model_error_s(shown_error_s: int, shown_min: int, model_min: int) -> int:
    """A model's error at the first call from the shown estimate's error: the real wait minus
    the model's estimate (seconds; positive: the resident waited longer)."""
    return shown_error_s + (shown_min - model_min) * 60


@dataclass(frozen=True)
class EstimateFacts:
    """A ticket called at least once whose estimates at issue were recorded."""

    office_id: str
    category_prefix: str
    issued_at: datetime
    estimate_min: int
    estimate_error_s: int
    shadow: Mapping[str, int]


REPORT_COLUMNS = [
    "day",
    "office_id",
    "category",
    "model",
    "in_use",
    "estimates",
    "estimate_mae_s",
    "estimate_bias_s",
    "estimate_within_5min",
    "estimate_within_10min",
]
HOUR_COLUMNS = ["model", "hour", "estimates", "estimate_mae_s", "estimate_bias_s"]
# The category column of an office's row over all its categories.
ALL_CATEGORIES = "*"


def model_errors(fact: EstimateFacts) -> dict[str, int]:
    """Each recorded model's error for this ticket (models unknown to this version are
    skipped)."""
    return {
        name: model_error_s(fact.estimate_error_s, fact.estimate_min, minutes)
        for name, minutes in fact.shadow.items()
        if name in MODELS
    }


def estimate_report(
    day: str, facts: Iterable[EstimateFacts], zone: ZoneInfo
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows per office, category (and ``*``: the office over all categories) and model: the
    tickets whose estimates could be checked, MAE, bias and shares within ±5/±10 minutes; and
    per model and hour of issue (office time), the MAE and bias over everything asked for."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    hours: dict[tuple[str, int], list[int]] = defaultdict(list)
    for fact in facts:
        hour = fact.issued_at.astimezone(zone).hour
        for name, error in model_errors(fact).items():
            groups[(fact.office_id, fact.category_prefix, name)].append(error)
            groups[(fact.office_id, ALL_CATEGORIES, name)].append(error)
            hours[(name, hour)].append(error)
    order = {name: i for i, name in enumerate(MODELS)}
    rows = []
    for (office, category, name), errors in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][1], order[item[0][2]])
    ):
        rows.append(
            {
                "day": day,
                "office_id": office,
                "category": category,
                "model": name,
                "in_use": name == IN_USE,
                **estimate_figures(errors),
            }
        )
    by_hour = []
    for (name, hour), errors in sorted(hours.items(), key=lambda i: (order[i[0][0]], i[0][1])):
        figures = estimate_figures(errors)
        by_hour.append(
            {
                "model": name,
                "hour": hour,
                "estimates": figures["estimates"],
                "estimate_mae_s": figures["estimate_mae_s"],
                "estimate_bias_s": figures["estimate_bias_s"],
            }
        )
    return rows, by_hour
