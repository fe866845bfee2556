"""The wait models on constructed queues, and the daily estimate report's figures."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain.estimates import (
    IN_USE,
    MODELS,
    EstimateFacts,
    QueueNow,
    estimate_report,
    fixed_default,
    mean_open,
    median_configured,
    model_error_s,
    shadow_estimates,
)

TOKYO = ZoneInfo("Asia/Tokyo")
# Right-skewed: four short cases and one long 転入 (median 300 s, mean 480 s).
SKEWED = [240.0, 300.0, 1200.0, 360.0, 300.0]


def queue(
    ahead: int, *, counters: int = 3, open_: int = 3, recent: list[float] = SKEWED
) -> QueueNow:
    return QueueNow(
        ahead=ahead,
        recent_service_s=recent,
        default_service_s=420,
        counters=counters,
        counters_open=open_,
    )


def test_each_model_on_a_skewed_queue() -> None:
    q = queue(6)
    # 6 × 300 s / 3 counters = 600 s: 10 minutes.
    assert median_configured(q) == 10
    # 6 × 480 s (the mean) / 3 = 960 s: 16 minutes.
    assert mean_open(q) == 16
    # 6 × 420 s (the category's default) / 3 = 840 s: 14 minutes.
    assert fixed_default(q) == 14
    # Without the lobby (only the category's figures), lobby_replay falls back to mean_open.
    assert shadow_estimates(q) == {
        "lobby_replay": 16,
        "mean_open": 16,
        "median_configured": 10,
        "fixed_default": 14,
    }
    assert IN_USE == "lobby_replay" and IN_USE in MODELS


def test_only_the_counters_calling_now_count_for_the_model_in_use() -> None:
    # One of three counters on a break: two serve the queue.
    q = queue(6, counters=3, open_=2)
    assert mean_open(q) == 24  # 6 × 480 / 2 = 1440 s
    assert median_configured(q) == 10  # still spread over three
    # Every counter paused: they come back, so the configured ones are counted.
    assert mean_open(queue(6, counters=3, open_=0)) == 16


def test_no_one_ahead_waits_nothing_and_no_history_uses_the_default() -> None:
    for model in MODELS.values():
        assert model(queue(0)) == 0
        assert model(queue(-1)) == 0
    fresh = queue(3, recent=[])
    assert mean_open(fresh) == median_configured(fresh) == fixed_default(fresh) == 7  # 3×420/3
    # No counter configured at all: one is assumed, never a division by zero.
    assert fixed_default(queue(2, counters=0, open_=0)) == 14


def test_a_models_error_follows_from_the_shown_error() -> None:
    # Shown 10 minutes, called after 13: +180 s. A model that said 16 was 180 s too long.
    assert model_error_s(180, 10, 16) == -180
    assert model_error_s(180, 10, 10) == 180
    assert model_error_s(-60, 5, 0) == 240


def fact(
    prefix: str,
    hour: int,
    waited_min: float,
    shadow: dict[str, int],
    office: str = "o1",
    shown_by: str = "mean_open",
) -> EstimateFacts:
    # Tickets issued while ``shown_by`` was the model shown (their error is that model's).
    shown = shadow[shown_by]
    issued = datetime(2026, 3, 30, hour, 10, tzinfo=TOKYO).astimezone(UTC)
    return EstimateFacts(office, prefix, issued, shown, round(waited_min * 60 - shown * 60), shadow)


def test_report_gives_each_model_its_mae_bias_and_shares() -> None:
    facts = [
        # Waited 20 minutes; mean_open said 18 (+2 min), median 10 (+10), default 14 (+6).
        fact("A", 9, 20, {"mean_open": 18, "median_configured": 10, "fixed_default": 14}),
        # Waited 8; mean_open 10 (−2), median 5 (+3), default 20 (−12).
        fact("A", 9, 8, {"mean_open": 10, "median_configured": 5, "fixed_default": 20}),
        # Waited 30 in B at 14:00; mean_open 24 (+6), median 29 (+1), default 40 (−10).
        fact("B", 14, 30, {"mean_open": 24, "median_configured": 29, "fixed_default": 40}),
        # A model this version does not know is skipped.
        fact("B", 14, 1, {"mean_open": 1, "old_model": 3}),
    ]
    rows, hours = estimate_report("2026-03-30", facts, TOKYO)
    by = {(r["category"], r["model"]): r for r in rows}
    a_mean = by[("A", "mean_open")]
    assert a_mean["in_use"] is False and a_mean["estimates"] == 2
    assert (a_mean["estimate_mae_s"], a_mean["estimate_bias_s"]) == (120, 0)
    assert (a_mean["estimate_within_5min"], a_mean["estimate_within_10min"]) == (1.0, 1.0)
    a_median = by[("A", "median_configured")]
    assert a_median["in_use"] is False
    assert (a_median["estimate_mae_s"], a_median["estimate_bias_s"]) == (390, 390)
    assert (a_median["estimate_within_5min"], a_median["estimate_within_10min"]) == (0.5, 1.0)
    a_default = by[("A", "fixed_default")]
    assert (a_default["estimate_mae_s"], a_default["estimate_bias_s"]) == (540, -180)
    assert (a_default["estimate_within_5min"], a_default["estimate_within_10min"]) == (0.0, 0.5)
    # The office over all categories: B's two tickets for mean_open, one for the others.
    total = by[("*", "mean_open")]
    assert total["estimates"] == 4
    assert total["estimate_mae_s"] == round((120 + 120 + 360 + 0) / 4)
    assert by[("*", "fixed_default")]["estimates"] == 3
    assert not [r for r in rows if r["model"] == "old_model"]
    # Rows come by office, category, then the models' order (those these tickets recorded).
    assert [r["model"] for r in rows[:3]] == [m for m in MODELS if m != "lobby_replay"]
    # Per hour of issue (Tokyo time): 9 and 14.
    hour_rows = {(h["model"], h["hour"]): h for h in hours}
    assert hour_rows[("mean_open", 9)]["estimate_mae_s"] == 120
    assert hour_rows[("fixed_default", 14)]["estimate_bias_s"] == -600
    assert {h for _m, h in hour_rows} == {9, 14}


def test_report_puts_the_replay_first_and_marks_it_shown() -> None:
    # Waited 25 minutes: the replay said 24 (+1 min, shown), mean_open 5 (+20).
    shadow = {"lobby_replay": 24, "mean_open": 5, "median_configured": 4, "fixed_default": 3}
    rows, _hours = estimate_report(
        "2026-03-30", [fact("A", 9, 25, shadow, shown_by="lobby_replay")], TOKYO
    )
    assert [r["model"] for r in rows[:4]] == list(MODELS)
    first = rows[0]
    assert (first["model"], first["in_use"], first["estimate_mae_s"]) == ("lobby_replay", True, 60)
    assert rows[1]["estimate_bias_s"] == 1200 and rows[1]["in_use"] is False


def test_an_empty_day_has_no_rows() -> None:
    assert estimate_report("2026-03-30", [], TOKYO) == ([], [])


@pytest.mark.parametrize("ahead", [1, 5, 40])
def test_the_mean_is_never_below_the_median_on_skewed_times(ahead: int) -> None:
    assert mean_open(queue(ahead)) >= median_configured(queue(ahead))
