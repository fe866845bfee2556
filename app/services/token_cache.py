"""Who a bearer token is, remembered for a few seconds so a request needs no lookup for it.

Every API request names its token; looking it up is one statement of the handful a claim or a
ticket issue needs. Entries live ``ttl_s`` (MADOGUCHI_TOKEN_CACHE_S, 0 turns the cache off),
like the token-review cache of other API servers. A revocation or a change of qualifications
made through this process drops the entry when it commits; one made through another process or
the CLI takes effect there within ``ttl_s``. Expiry is checked on every use.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.domain.roles import Principal


@dataclass(frozen=True)
class CachedToken:
    principal: Principal
    expires_at: datetime | None
    fresh_until: float


class TokenCache:
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()
        self._hash_of: dict[str, str] = {}
        # Bumped by every forget: a lookup that started before it must not store what it read.
        self.generation = 0
        # Called with the token id on every forget (lobby displays watching with it are closed).
        self.on_forget: list[Callable[[str], None]] = []

    def get(self, token_hash: str, now: datetime) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry.fresh_until <= time.monotonic() or (
            entry.expires_at is not None and entry.expires_at <= now
        ):
            self._drop(token_hash)
            return None
        return entry.principal

    def put(
        self, token_hash: str, principal: Principal, expires_at: datetime | None, generation: int
    ) -> None:
        if self.ttl_s <= 0 or generation != self.generation:
            return
        self._entries[token_hash] = CachedToken(
            principal, expires_at, time.monotonic() + self.ttl_s
        )
        self._entries.move_to_end(token_hash)
        self._hash_of[principal.token_id] = token_hash
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def forget(self, token_id: str) -> None:
        self.generation += 1
        token_hash = self._hash_of.get(token_id)
        if token_hash is not None:
            self._drop(token_hash)
        for listener in self.on_forget:
            listener(token_id)

    def _drop(self, token_hash: str) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is not None:
            self._hash_of.pop(entry.principal.token_id, None)
