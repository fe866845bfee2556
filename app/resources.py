"""Everything with a lifetime, built once in the lifespan and reached through dependencies."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.domain.clock import Clock
from app.realtime.hub import Hub
from app.services.lobby_feed import DatabaseLobbyFeed
from app.services.token_cache import TokenCache


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    feed: DatabaseLobbyFeed
    clock: Clock
    tokens: TokenCache = field(default_factory=lambda: TokenCache(0))
