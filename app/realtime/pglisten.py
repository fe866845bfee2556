"""PostgreSQL LISTEN: lobby events committed by any process reach this process's hub.

One dedicated asyncpg connection per process (never from the pool). The payload carries only
``office:seq``; the hub reads the event rows. When the connection drops, it reconnects with
backoff and then asks the hub to check every subscribed office, so nothing committed during
the outage is missed.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


class PgListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        on_event: Callable[[str, int], None],
        on_reconnect: Callable[[], None],
        control: tuple[str, Callable[[str], None]] | None = None,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        # (channel, callback): messages outside the sequence, delivered as they come (a
        # notification lost while disconnected is lost: a test is pressed again, settings come
        # with the next snapshot).
        self._control = control
        self.connected = asyncio.Event()
        self.reconnects = 0

    def _callback(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        office_id, _, seq = payload.rpartition(":")
        if office_id and seq.isdigit():
            self._on_event(office_id, int(seq))

    def _control_callback(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if self._control is not None:
            self._control[1](payload)

    async def run(self) -> None:
        delay = 0.2
        first = True
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("lobby listener cannot connect (%s); retrying", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:
                # Bound now: a late callback of an earlier connection must not end this one's watch.
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(self._channel, self._callback)
                if self._control is not None:
                    await connection.add_listener(self._control[0], self._control_callback)
                delay = 0.2
                self.connected.set()
                if not first:
                    self.reconnects += 1
                    self._on_reconnect()
                first = False
                while not lost.is_set():
                    # asyncpg reports a dead socket only when it next talks to it.
                    try:
                        await asyncio.wait_for(lost.wait(), 5.0)
                    except TimeoutError:
                        try:
                            await asyncio.wait_for(connection.execute("SELECT 1"), 5.0)
                        except (
                            OSError,
                            asyncpg.PostgresError,
                            TimeoutError,
                            asyncpg.InterfaceError,
                        ):
                            lost.set()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("lobby listener lost its connection (%s)", type(error).__name__)
            finally:
                self.connected.clear()
                if not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
