"""Who may open a lobby websocket: per client address, at most so many at once and so many new
ones a second, checked before the upgrade (README, Reliability).

A display that is turned away costs the server one HTTP answer (429 with ``Retry-After``)
instead of a handshake, a token check, a snapshot and a replay. The limits are per process and
per address as the server sees it: a lobby behind one NAT address (displays, and counter
terminals watching their queue) shares them, so the defaults leave room for a large floor that
comes back all at once after a power cut.
"""

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.realtime.direct import denial_sent

CLOSE_TRY_AGAIN_LATER = 1013

TOO_MANY_CONNECTIONS = (
    "この端末のアドレスからの接続が多すぎます (too many display connections from this address)"
)
TOO_MANY_CONNECTS = (
    "しばらくしてから再接続してください (too many display connects from this address, slow down)"
)


@dataclass(frozen=True)
class Turned:
    """Why a connection was not admitted, and when to try again."""

    code: str
    detail: str
    retry_after_s: int


class DisplayAdmission:
    """Open connections and a connect token bucket per client address; 0 turns a limit off."""

    def __init__(
        self,
        connections_per_address: int,
        connects_per_s: float,
        connect_burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.connections_per_address = connections_per_address
        self.connects_per_s = connects_per_s
        self.connect_burst = connect_burst
        self._clock = clock
        self._max_addresses = max_addresses
        self._open: dict[str, int] = {}
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.turned_away = 0

    def admit(self, address: str) -> Turned | None:
        """Count a new connection from ``address`` (None), or say why it is turned away. Every
        admitted connection must be ``release``d when it ends."""
        limit = self.connections_per_address
        if limit > 0 and self._open.get(address, 0) >= limit:
            self.turned_away += 1
            return Turned("too_many_connections", TOO_MANY_CONNECTIONS, 5)
        wait = self._take(address)
        if wait is not None:
            self.turned_away += 1
            return Turned("rate_limited", TOO_MANY_CONNECTS, wait)
        self._open[address] = self._open.get(address, 0) + 1
        return None

    def release(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)

    def _take(self, address: str) -> int | None:
        if self.connects_per_s <= 0 or self.connect_burst <= 0:
            return None
        now = self._clock()
        burst = float(self.connect_burst)
        tokens, last = self._buckets.pop(address, (burst, now))
        tokens = min(burst, tokens + (now - last) * self.connects_per_s)
        if tokens < 1.0:
            self._buckets[address] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.connects_per_s))
        self._buckets[address] = (tokens - 1.0, now)
        while len(self._buckets) > self._max_addresses:
            self._buckets.popitem(last=False)
        return None


class AdmissionGate:
    """Pure ASGI, in front of the app's own middleware: a websocket under ``prefix`` from an
    address over its limits is answered 429 before anything else of the app runs (a refusal
    through the whole stack cost about 1 ms of CPU)."""

    def __init__(self, app: Any, admission: DisplayAdmission, prefix: str, title: str) -> None:
        self.app = app
        self.admission = admission
        self.prefix = prefix
        self.title = title

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        turned = self.admission.admit(address)
        if turned is None:
            try:
                await self.app(scope, receive, send)
            finally:
                self.admission.release(address)
            return
        if "websocket.http.response" not in scope.get("extensions", {}):
            # A server without the denial response extension: closed before the upgrade.
            await send(
                {"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": turned.code}
            )
            return
        body = json.dumps(
            {
                "type": f"urn:madoguchi:problem:{turned.code}",
                "title": self.title,
                "status": 429,
                "detail": turned.detail,
                "code": turned.code,
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(turned.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
        denial_sent(send, scope)
