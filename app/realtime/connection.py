"""One lobby display's connection: snapshot first, then every event in seq order, gaps refilled.

Order of work (REALTIME.md §3.4): subscribe, then read the snapshot, then stream. The display
never sees an event twice or out of order from this loop: anything not newer than what it was
sent is dropped, and a jump in seq is filled from the database before going on. Once the display
is up to date and its socket drains, the hub writes events to it directly (hub.py) and this task
only reads, beats after silence and takes over again when the hub hands the display back.

The snapshot and the events of a resume come from what the hub keeps in memory (one encoded
snapshot per office and seq, a window of recent frames) whenever it can; a resume from further
back than the window is read from the database page by page.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from app.realtime.direct import DirectWriter, encode_text_frame, frame_text
from app.realtime.hub import CONTROL_SEQ, EncodedSnapshot, Hub, Subscription
from app.realtime.inbound import (
    CLOSE_POLICY_VIOLATION,
    MessageBudget,
    Refused,
    parse_display_message,
)
from app.realtime.messages import Heartbeat, LobbySnapshot

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

    async def receive(self) -> Mapping[str, Any]:
        """The next ASGI event: ``websocket.receive`` (text or bytes) or
        ``websocket.disconnect``."""
        ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass
class DisplayOptions:
    heartbeat_s: float
    send_timeout_s: float
    history_limit: int
    # Events read per short database session while replaying a gap.
    replay_page: int = 200
    max_message_bytes: int = 64 * 1024
    messages_per_s: float = 2.0
    message_burst: int = 10


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
        direct: DirectWriter | None = None,
    ) -> None:
        self._socket = socket
        self._hub = hub
        self._feed = feed
        self._office_id = office_id
        self._options = options
        self._direct = direct
        self._epoch = ""
        self._loop = asyncio.get_running_loop()

    async def run(self, token_id: str | None = None) -> None:
        """Serve the display until it leaves or is closed; ``token_id`` lets the hub close it
        when its token is revoked or expires."""
        with self._hub.subscribe(self._office_id, self._direct, token_id=token_id) as subscription:
            try:
                await self._send_snapshot(subscription)
                await self._stream(subscription)
            except SlowDisplay:
                await self._close(subscription, CLOSE_TRY_AGAIN_LATER, "display too slow")
            except Exception as error:
                # Gone before its snapshot was sent (a television switched off as it connected,
                # or a client that hangs up at once, over and over): nothing to log.
                if not _is_disconnect(error):
                    raise

    async def _stream(self, subscription: Subscription) -> None:
        reader = asyncio.create_task(self._read(subscription))
        writer = asyncio.create_task(self._write(subscription))
        ended = asyncio.create_task(subscription.ended.wait())
        done, pending = await asyncio.wait(
            {reader, writer, ended}, return_when=asyncio.FIRST_COMPLETED
        )
        subscription.live = False
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            error = task.exception()
            if isinstance(error, SlowDisplay):
                subscription.end(CLOSE_TRY_AGAIN_LATER, "display too slow")
            elif isinstance(error, Refused):
                subscription.end(error.code, error.reason)
            elif error is not None and not _is_disconnect(error):
                raise error
        if subscription.ending is not None:
            await self._close(subscription, *subscription.ending)

    async def _read(self, subscription: Subscription) -> None:
        """Resume requests, within the connection's message budget; returns on disconnect."""
        options = self._options
        budget = MessageBudget(options.messages_per_s, options.message_burst)
        while True:
            message = await self._socket.receive()
            if message.get("type") == "websocket.disconnect":
                return
            if not budget.take():
                raise Refused(CLOSE_POLICY_VIOLATION, "too many messages")
            resume = parse_display_message(message, options.max_message_bytes)
            subscription.request_resume(resume.after_seq)

    async def _write(self, subscription: Subscription) -> None:
        heartbeat_s = self._options.heartbeat_s
        while True:
            if not subscription.live and self._hub.may_go_live(subscription):
                # Up to date and draining: the pump writes from the next event on.
                subscription.live = True
            try:
                # asyncio.timeout_at, not wait_for: wait_for wraps every get in a new task.
                async with asyncio.timeout_at(subscription.sent_at + heartbeat_s):
                    item = await subscription.queue.get()
            except TimeoutError:
                if self._loop.time() < subscription.sent_at + heartbeat_s:
                    continue  # the pump wrote in the meantime: not silent yet
                subscription.live = False
                beat = Heartbeat(seq=subscription.last, epoch=self._epoch, at=datetime.now(UTC))
                await self._send(subscription, beat.model_dump_json())
                continue
            # Anything queued was queued while the pump was not writing to this display.
            subscription.live = False
            if subscription.lagging or subscription.resume_from is not None:
                after = (
                    subscription.last
                    if subscription.resume_from is None
                    else subscription.resume_from
                )
                subscription.lagging = False
                subscription.resume_from = None
                _drain(subscription)
                await self._catch_up(subscription, after)
                continue
            if item is None:
                continue
            seq, text = item
            if seq == CONTROL_SEQ:
                await self._send(subscription, text)
                continue
            if seq <= subscription.last:
                continue
            if seq > subscription.last + 1:
                await self._catch_up(subscription, subscription.last)
                continue
            await self._send(subscription, text)
            subscription.last = seq
            subscription.delivered += 1

    async def _catch_up(self, subscription: Subscription, after: int) -> None:
        """Send the events after ``after`` from the database, or a fresh snapshot if they are gone.

        Page by page: each page is read in its own short session, which is closed before the
        page is sent, so a display that reads slowly (or not at all) holds no connection, no
        transaction and no lock while its socket drains.
        """
        page = max(1, min(self._options.replay_page, self._options.history_limit))
        frames = await self._hub.window_after(self._office_id, after)
        if frames is not None:
            if len(frames) > self._options.history_limit:
                await self._resync(subscription)
                return
            for start in range(0, len(frames), page):
                chunk = frames[start : start + page]
                await self._send_frames(subscription, [frame for _, frame in chunk])
                subscription.last = max(subscription.last, chunk[-1][0])
            return
        current, events = await self._feed.events_after(self._office_id, after, page)
        target = current
        if after > target or target - after > self._options.history_limit:
            await self._resync(subscription)
            return
        position = after
        while position < target:
            if not events or events[0][0] != position + 1:
                await self._resync(subscription)  # pruned meanwhile, or an epoch change
                return
            texts = [text for seq, text in events if seq <= target]
            await self._send_page(subscription, texts)
            position = events[len(texts) - 1][0]
            subscription.last = max(subscription.last, position)
            if position < target:
                _, events = await self._feed.events_after(
                    self._office_id, position, min(page, target - position)
                )
        subscription.last = max(subscription.last, target)

    async def _resync(self, subscription: Subscription) -> None:
        await self._send_snapshot(subscription)

    async def _send_snapshot(self, subscription: Subscription) -> None:
        snapshot: EncodedSnapshot = await self._hub.snapshot(
            self._office_id, lambda: self._feed.snapshot(self._office_id)
        )
        self._epoch = snapshot.epoch
        await self._send(subscription, snapshot.text)
        subscription.last = snapshot.seq

    async def _send_page(self, subscription: Subscription, texts: list[str]) -> None:
        """Several events at once: under the direct writer, framed and written in one go once
        the socket drains (a tenth of the CPU of one ASGI send each)."""
        if self._direct is not None:
            await self._send_frames(subscription, [encode_text_frame(text) for text in texts])
        else:
            for text in texts:
                await self._send(subscription, text)

    async def _send_frames(self, subscription: Subscription, frames: list[bytes]) -> None:
        """Frames already encoded (shared with other displays): written in one go under the
        direct writer once the socket drains, else sent one by one through ASGI."""
        direct = self._direct
        if direct is not None:
            try:
                async with asyncio.timeout(self._options.send_timeout_s):
                    await direct.drained()
            except TimeoutError:
                raise SlowDisplay from None
            if direct.ready():
                direct.write(b"".join(frames))
                subscription.sent_at = self._loop.time()
                return
        for frame in frames:
            await self._send(subscription, frame_text(frame))

    async def _send(self, subscription: Subscription, text: str) -> None:
        try:
            async with asyncio.timeout(self._options.send_timeout_s):
                await self._socket.send_text(text)
        except TimeoutError:
            raise SlowDisplay from None
        subscription.sent_at = self._loop.time()

    async def _close(self, subscription: Subscription, code: int, reason: str) -> None:
        """Close with ``code``; never waits longer than the send timeout for the display."""
        grace_s = self._options.send_timeout_s
        if self._direct is not None and not self._direct.ready():
            # The socket is not draining, so the ASGI close would wait for it: the close frame
            # goes behind the unread data instead, and a display that still reads nothing
            # within the send timeout is cut off.
            self._direct.close_behind(code, reason, grace_s)
            return
        try:
            async with asyncio.timeout(grace_s):
                await self._socket.close(code, reason)
        except TimeoutError:
            if self._direct is not None:
                self._direct.abort()
        except Exception as error:
            if not _is_disconnect(error):
                raise


def _drain(subscription: Subscription) -> None:
    while not subscription.queue.empty():
        subscription.queue.get_nowait()


def _is_disconnect(error: BaseException) -> bool:
    name = type(error).__name__
    return name in {
        "WebSocketDisconnect",
        "ConnectionClosed",
        "ConnectionClosedOK",
        "ConnectionClosedError",
    } or (isinstance(error, RuntimeError) and "close" in str(error).lower())
