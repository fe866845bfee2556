"""Each process's watch over its displays: tokens still valid, send buffers still bounded.

Once a second (``display.guard_s``, and at once after a token is revoked or changed through
this process) one statement reads which of the tokens its displays were admitted with are
still neither revoked nor expired; every display whose token is not is closed with 4401. The
same sweep cuts any display holding more than ``display.max_buffered_bytes`` of unread data
(1013), whatever put it there.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

from app.realtime.connection import CLOSE_TRY_AGAIN_LATER
from app.realtime.hub import Hub

log = logging.getLogger(__name__)

CLOSE_UNAUTHORISED = 4401
TOKEN_GONE = "token revoked or expired"

LiveTokens = Callable[[Collection[str], datetime], Awaitable[set[str]]]


async def check_displays(
    hub: Hub, live_tokens: LiveTokens, now: datetime, max_buffered: int
) -> int:
    """One sweep; returns how many displays it closed."""
    closed = hub.end_overfull(max_buffered, CLOSE_TRY_AGAIN_LATER, "display too slow")
    watched = {s.token_id for s in hub.subscriptions() if s.token_id and s.ending is None}
    if not watched:
        return closed
    live = await live_tokens(watched, now)
    for token_id in watched - live:
        closed += hub.end_token(token_id, CLOSE_UNAUTHORISED, TOKEN_GONE)
    return closed


async def guard_displays(
    hub: Hub,
    live_tokens: LiveTokens,
    now: Callable[[], datetime],
    interval_s: float,
    max_buffered: int,
    check_now: asyncio.Event,
) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(check_now.wait(), interval_s)
        check_now.clear()
        try:
            await check_displays(hub, live_tokens, now(), max_buffered)
        except Exception:
            log.warning("display token check failed; retrying", exc_info=True)
