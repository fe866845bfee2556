"""Reads for lobby displays, each in its own short session (a display holds none for hours)."""

import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.clock import Clock
from app.domain.errors import NotFound
from app.realtime.messages import LobbySnapshot
from app.services.lobby import build_snapshot
from app.settings import Settings
from app.storage import lobby as lobby_store
from app.storage.db import read_one_moment
from app.storage.tables import LobbyEvent, Office


def serialise_event(event: LobbyEvent) -> str:
    """The wire form of a stored event: {"type","seq","at","data"}."""
    return json.dumps(
        {"type": event.type, "seq": event.seq, "at": event.at.isoformat(), "data": event.data},
        ensure_ascii=False,
        separators=(",", ":"),
    )


class DatabaseLobbyFeed:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock

    async def snapshot(self, office_id: str) -> LobbySnapshot:
        """The lobby at one moment: the seq and the tickets read from the same snapshot, so the
        state is exactly the one after event ``seq`` (the events after it follow as usual)."""
        async with self._sessionmaker() as session:
            await read_one_moment(session)
            office = await session.get(Office, office_id)
            if office is None:
                raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
            return await build_snapshot(session, office, self._settings, self._clock.now())

    async def events_after(
        self, office_id: str, after_seq: int, limit: int
    ) -> tuple[int, list[tuple[int, str]]]:
        async with self._sessionmaker() as session:
            channel = await lobby_store.get_channel(session, office_id)
            if channel is None:
                return 0, []
            events = await lobby_store.list_events_after(
                session, office_id, after_seq, up_to=channel.seq, limit=limit
            )
            return channel.seq, [(e.seq, serialise_event(e)) for e in events]

    async def fetch(self, office_id: str, after_seq: int, up_to: int) -> list[tuple[int, str]]:
        """The hub's read: events in (after_seq, up_to], serialised once for every display."""
        async with self._sessionmaker() as session:
            events = await lobby_store.list_events_after(
                session, office_id, after_seq, up_to=up_to, limit=self._settings.display.history_events
            )
            return [(e.seq, serialise_event(e)) for e in events]

    async def channel_seqs(self, office_ids: list[str]) -> dict[str, int]:
        async with self._sessionmaker() as session:
            return await lobby_store.channel_seqs(session, office_ids)
