"""Everything with a lifetime, built once in the lifespan and reached through dependencies."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import Clock
from app.realtime.hub import Hub
from app.services.lobby_feed import DatabaseLobbyFeed


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    feed: DatabaseLobbyFeed
    clock: Clock
