"""One lobby display's connection: snapshot first, then every event in seq order, gaps refilled.

Order of work (REALTIME.md §3.4): subscribe, then read the snapshot, then stream. The display
never sees an event twice or out of order from this loop: anything not newer than what it was
sent is dropped, and a jump in seq is filled from the database before going on.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from app.realtime.hub import Hub, Subscription
from app.realtime.messages import Heartbeat, LobbySnapshot, Resume

log = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013


class LobbyFeed(Protocol):
    async def snapshot(self, office_id: str) -> LobbySnapshot: ...

    async def events_after(
        self, office_id: str, after_seq: int, limit: int
    ) -> tuple[int, list[tuple[int, str]]]:
        """(the channel's current seq, [(seq, serialised event)] after ``after_seq``)."""
        ...


class DisplaySocket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def receive_text(self) -> str: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass
class DisplayOptions:
    heartbeat_s: float
    send_timeout_s: float
    history_limit: int


class SlowDisplay(Exception):
    """The socket did not take a message within the send timeout."""


class DisplayConnection:
    def __init__(
        self,
        socket: DisplaySocket,
        hub: Hub,
        feed: LobbyFeed,
        office_id: str,
        options: DisplayOptions,
    ) -> None:
        self._socket = socket
        self._hub = hub
        self._feed = feed
        self._office_id = office_id
        self._options = options
        self._last = 0
        self._epoch = ""

    async def run(self) -> None:
        with self._hub.subscribe(self._office_id) as subscription:
            snapshot = await self._feed.snapshot(self._office_id)
            self._epoch = snapshot.epoch
            try:
                await self._send(snapshot.model_dump_json())
                self._last = snapshot.seq
                reader = asyncio.create_task(self._read(subscription))
                writer = asyncio.create_task(self._write(subscription))
                done, pending = await asyncio.wait(
                    {reader, writer}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task in done:
                    error = task.exception()
                    if isinstance(error, SlowDisplay):
                        await self._socket.close(CLOSE_TRY_AGAIN_LATER, "display too slow")
                    elif error is not None and not _is_disconnect(error):
                        raise error
            except SlowDisplay:
                await self._socket.close(CLOSE_TRY_AGAIN_LATER, "display too slow")

    async def _read(self, subscription: Subscription) -> None:
        while True:
            raw = await self._socket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("type") == "resume":
                try:
                    resume = Resume.model_validate(message)
                except ValidationError:
                    continue
                subscription.request_resume(resume.after_seq)

    async def _write(self, subscription: Subscription) -> None:
        options = self._options
        while True:
            try:
                # asyncio.timeout, not wait_for: wait_for wraps every get in a new task, which at
                # a thousand displays per event is most of the fan-out's cost.
                async with asyncio.timeout(options.heartbeat_s):
                    item = await subscription.queue.get()
            except TimeoutError:
                beat = Heartbeat(seq=self._last, epoch=self._epoch, at=datetime.now(UTC))
                await self._send(beat.model_dump_json())
                continue
            if subscription.lagging or subscription.resume_from is not None:
                after = self._last if subscription.resume_from is None else subscription.resume_from
                subscription.lagging = False
                subscription.resume_from = None
                _drain(subscription)
                await self._catch_up(after)
                continue
            if item is None:
                continue
            seq, text = item
            if seq <= self._last:
                continue
            if seq > self._last + 1:
                await self._catch_up(self._last)
                continue
            await self._send(text)
            self._last = seq
            subscription.delivered += 1

    async def _catch_up(self, after: int) -> None:
        """Send the events after ``after`` from the database, or a fresh snapshot if they are gone."""
        current, events = await self._feed.events_after(
            self._office_id, after, self._options.history_limit
        )
        complete = after <= current and (
            (events and events[0][0] == after + 1 and events[-1][0] == current)
            or (not events and after == current)
        )
        if not complete:
            snapshot = await self._feed.snapshot(self._office_id)
            await self._send(snapshot.model_dump_json())
            self._epoch = snapshot.epoch
            self._last = snapshot.seq
            return
        for seq, text in events:
            await self._send(text)
        self._last = max(self._last, current)

    async def _send(self, text: str) -> None:
        try:
            async with asyncio.timeout(self._options.send_timeout_s):
                await self._socket.send_text(text)
        except TimeoutError:
            raise SlowDisplay from None


def _drain(subscription: Subscription) -> None:
    while not subscription.queue.empty():
        subscription.queue.get_nowait()


def _is_disconnect(error: BaseException) -> bool:
    name = type(error).__name__
    return name in {"WebSocketDisconnect", "ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError"} or (
        isinstance(error, RuntimeError) and "close" in str(error).lower()
    )
