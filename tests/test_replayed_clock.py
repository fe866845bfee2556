"""The replayed clock a day is driven on (clients/bench/estimates.py), and that production
refuses it."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.domain.clock import ScaledClock
from app.main import settings_clock
from app.settings import Settings
from tests.support_thread import FakeClock


def test_the_replayed_clock_starts_where_asked_and_runs_faster() -> None:
    real = FakeClock(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))
    start = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    clock = ScaledClock(start, 120, real)
    assert clock.now() == start
    real.advance(30)
    assert clock.now() == start + timedelta(hours=1)


def test_settings_choose_the_clock_and_production_refuses_a_replay() -> None:
    plain = Settings(database_url="sqlite+aiosqlite:///:memory:")
    assert not isinstance(settings_clock(plain), ScaledClock)
    replay = Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        clock={"start": "2026-12-07T08:30:00+09:00", "scale": 60},
    )
    assert isinstance(settings_clock(replay), ScaledClock)
    with pytest.raises(ValidationError, match="replays a day"):
        Settings(
            database_url="sqlite+aiosqlite:///:memory:",
            environment="production",
            audit={"key": "k" * 40},
            clock={"scale": 60},
        )
    with pytest.raises(ValidationError):
        Settings(database_url="sqlite+aiosqlite:///:memory:", clock={"scale": 0})


def test_a_start_without_its_offset_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(
            database_url="sqlite+aiosqlite:///:memory:", clock={"start": "2026-12-07T08:30:00"}
        )
