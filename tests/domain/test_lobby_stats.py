"""窓口統計 from ticket facts: nearest-rank percentiles, per counter and over all counters."""

from datetime import UTC, datetime, timedelta

from app.domain.lobby_stats import (
    AppointmentFacts,
    TicketFacts,
    daily_stats,
    estimate_figures,
    percentile,
)
from app.domain.tickets import estimate_error_s

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([30, 10, 20, 40], 50) == 20
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile([5, 1], 100) == 5


def test_a_day_per_counter_and_over_all_counters() -> None:
    tickets = [
        TicketFacts("o", "a", "A", "1", "done", minutes(0), minutes(10), minutes(11), minutes(16)),
        TicketFacts("o", "a", "A", "2", "done", minutes(0), minutes(20), minutes(20), minutes(30)),
        TicketFacts("o", "a", "A", "2", "no_show", minutes(5), minutes(35), transfers=1),
        TicketFacts("o", "a", "A", None, "cancelled", minutes(6)),
    ]
    appointments = [
        AppointmentFacts("o", "a", "A", "1", "checked_in", minutes(0)),
        AppointmentFacts("o", "a", "A", None, "booked", minutes(30)),  # grace not over yet
        AppointmentFacts("o", "a", "A", None, "booked", minutes(0)),  # missed
        AppointmentFacts("o", "a", "A", None, "cancelled", minutes(0)),
    ]
    rows = daily_stats("2026-12-07", tickets, appointments, now=minutes(40), grace_s=600)
    assert [(r["counter"], r["tickets"]) for r in rows] == [("*", 4), ("1", 1), ("2", 2)]
    total, first, second = rows
    assert (total["served"], total["no_shows"], total["cancelled"], total["transfers"]) == (
        2,
        1,
        1,
        1,
    )
    assert (total["wait_median_s"], total["wait_max_s"]) == (1200, 1800)
    assert (total["service_median_s"], total["service_max_s"]) == (300, 600)
    assert (total["appointments_kept"], total["appointments_missed"]) == (1, 1)
    assert (first["appointments_kept"], second["appointments_kept"]) == (1, 0)
    assert second["service_p90_s"] == 600 and second["wait_p90_s"] == 1800


def test_estimate_errors_are_kept_at_the_call_and_summed_up_per_day() -> None:
    assert estimate_error_s(minutes(0), minutes(12), 5) == 420
    assert estimate_error_s(minutes(0), minutes(3), 5) == -120
    assert estimate_error_s(minutes(0), minutes(3), None) is None
    assert estimate_figures([420, -120, 0, 900]) == {
        "estimates": 4,
        "estimate_mae_s": 360,
        "estimate_bias_s": 300,
        "estimate_within_5min": 0.5,
        "estimate_within_10min": 0.75,
    }
    assert estimate_figures([])["estimate_mae_s"] is None
