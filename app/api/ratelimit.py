"""Per-client token buckets for the endpoints anyone can reach and for ticket issue."""

import math
import time
from collections import OrderedDict

from fastapi import Request

from app.domain.errors import RateLimited


class RateLimiter:
    """``rate_per_s`` sustained with bursts of ``burst``, per client address, in this process."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_clients = max_clients

    def take(self, client: str) -> int | None:
        """Spend one token of ``client``'s bucket: None when allowed, else the whole seconds
        until a token is back (what ``Retry-After`` says, at least 1)."""
        now = time.monotonic()
        tokens, last = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate)) if self.rate > 0 else 60
        self._buckets[client] = (tokens - 1.0, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        return None

    def check(self, request: Request, key: str | None = None) -> None:
        client = key or (request.client.host if request.client else "unknown")
        wait = self.take(client)
        if wait is not None:
            raise RateLimited(
                "しばらくしてから再度お試しください (too many requests, slow down)",
                retry_after_s=wait,
            )
