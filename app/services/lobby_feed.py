"""Reads for lobby displays, each in its own short session (a display holds none for hours)."""

import asyncio
import json
import time
from collections.abc import Collection
from datetime import datetime

from app.domain.clock import Clock
from app.domain.errors import NotFound
from app.realtime.messages import LobbySnapshot
from app.services.lobby import build_snapshot
from app.settings import Settings
from app.storage import lobby as lobby_store
from app.storage import tenancy
from app.storage.db import Sessionmaker, read_one_moment, read_only
from app.storage.tables import LobbyEvent

# Token ids per look-up statement of the display token check.
_TOKEN_BATCH = 500


def serialise_event(event: LobbyEvent) -> str:
    """The wire form of a stored event: {"type","seq","at","data"}."""
    return json.dumps(
        {"type": event.type, "seq": event.seq, "at": event.at.isoformat(), "data": event.data},
        ensure_ascii=False,
        separators=(",", ":"),
    )


class DatabaseLobbyFeed:
    def __init__(self, sessionmaker: Sessionmaker, settings: Settings, clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock
        # Displays connecting (token check, snapshot) and catching up share a few database
        # connections, however many ask at once: the pool stays free for kiosks and counters.
        self.display_reads = asyncio.Semaphore(max(1, settings.display.replay_readers))
        # (office, municipality) pairs found in the database, and until when (monotonic) they
        # are trusted without a read: as long as a cached token.
        self._offices: dict[tuple[str, str], float] = {}

    def office_known(self, office_id: str, municipality_code: str) -> bool:
        until = self._offices.get((office_id, municipality_code))
        return until is not None and time.monotonic() < until

    def remember_office(self, office_id: str, municipality_code: str) -> None:
        if self._settings.token_cache_s > 0:
            self._offices[(office_id, municipality_code)] = (
                time.monotonic() + self._settings.token_cache_s
            )

    async def snapshot(self, office_id: str) -> LobbySnapshot:
        """The lobby at one moment: the seq and the tickets read from the same snapshot, so the
        state is exactly the one after event ``seq`` (the events after it follow as usual)."""
        async with self.display_reads, self._sessionmaker() as session:
            await read_one_moment(session)
            office = await tenancy.get_office(session, office_id)
            if office is None:
                raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
            return await build_snapshot(session, office, self._settings, self._clock.now())

    async def events_after(
        self, office_id: str, after_seq: int, limit: int
    ) -> tuple[int, list[tuple[int, str]]]:
        """One page of a display's replay, read in a short read-only session (on SQLite a
        deferred transaction: it takes no write lock, so kiosks never wait for it)."""
        async with self.display_reads, self._sessionmaker() as session:
            await read_only(session)
            channel = await lobby_store.get_channel(session, office_id)
            if channel is None:
                return 0, []
            events = await lobby_store.list_events_after(
                session, office_id, after_seq, up_to=channel.seq, limit=limit
            )
            return channel.seq, [(e.seq, serialise_event(e)) for e in events]

    async def recent_events(self, office_id: str, count: int) -> tuple[int, list[tuple[int, str]]]:
        """(the channel's seq, its last ``count`` events): the hub's window of an office.

        Read and serialised a page at a time in one read-only session, giving the event loop
        back between pages: thousands of rows never stall the fan-out in one go."""
        page = max(1, self._settings.display.replay_page)
        async with self.display_reads, self._sessionmaker() as session:
            await read_only(session)
            channel = await lobby_store.get_channel(session, office_id)
            if channel is None:
                return 0, []
            position = max(0, channel.seq - count)
            serialised: list[tuple[int, str]] = []
            while position < channel.seq:
                events = await lobby_store.list_events_after(
                    session, office_id, position, up_to=channel.seq, limit=page
                )
                if not events:
                    break
                serialised.extend((e.seq, serialise_event(e)) for e in events)
                position = events[-1].seq
                session.expunge_all()
                await asyncio.sleep(0)
            return channel.seq, serialised

    async def fetch(self, office_id: str, after_seq: int, up_to: int) -> list[tuple[int, str]]:
        """The hub's read: events in (after_seq, up_to], serialised once for every display."""
        async with self._sessionmaker() as session:
            await read_only(session)
            events = await lobby_store.list_events_after(
                session,
                office_id,
                after_seq,
                up_to=up_to,
                limit=self._settings.display.history_events,
            )
            return [(e.seq, serialise_event(e)) for e in events]

    async def channel_seqs(self, office_ids: list[str]) -> dict[str, int]:
        async with self._sessionmaker() as session:
            await read_only(session)
            return await lobby_store.channel_seqs(session, office_ids)

    async def live_tokens(self, token_ids: Collection[str], now: datetime) -> set[str]:
        """The ids among ``token_ids`` of tokens neither revoked nor expired at ``now``."""
        ids = sorted(token_ids)
        live: set[str] = set()
        async with self._sessionmaker() as session:
            await read_only(session)
            for start in range(0, len(ids), _TOKEN_BATCH):
                live.update(
                    await tenancy.live_token_ids(session, ids[start : start + _TOKEN_BATCH], now)
                )
        return live
