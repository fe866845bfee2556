"""A live server on its own thread, for synchronous drivers such as hypothesis state machines."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.support import LiveServer, run_server


def office_hours_today() -> datetime:
    """10:00 in Japan on today's Japanese date: a test that moves the clock by minutes stays within
    one business day, whenever the suite runs (from the real time it would cross midnight JST,
    15:00 UTC, and tickets issued before midnight are not called after it)."""
    jst = timezone(timedelta(hours=9))
    return datetime.now(jst).replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)


class FakeClock:
    """A clock the test moves forward by hand (lease expiry without sleeping)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@contextmanager
def threaded_server(
    settings: Any, clock: Any = None
) -> Iterator[tuple[LiveServer, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    holder: dict[str, Any] = {}

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with run_server(settings, clock=clock) as server:
            holder["server"] = server
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("server did not start")
    try:
        yield holder["server"], loop
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
