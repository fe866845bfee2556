"""Everything with a lifetime, built once in the lifespan and reached through dependencies."""

from dataclasses import dataclass, field

from app.domain.clock import Clock
from app.realtime.hub import Hub
from app.services.lobby_feed import DatabaseLobbyFeed
from app.services.speech import AnnouncementAudio
from app.services.token_cache import TokenCache
from app.storage.engines import Engine, Sessionmaker


@dataclass
class Resources:
    engine: Engine
    sessionmaker: Sessionmaker
    hub: Hub
    feed: DatabaseLobbyFeed
    clock: Clock
    tokens: TokenCache = field(default_factory=lambda: TokenCache(0))
    speech: AnnouncementAudio | None = None
