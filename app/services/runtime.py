"""What a long-running command needs of the process it runs in (the app's Resources have it)."""

from typing import Protocol

from app.domain.clock import Clock
from app.storage.engines import Sessionmaker


class LobbyHub(Protocol):
    def notify(self, office_id: str, seq: int) -> None: ...


class Runtime(Protocol):
    """A session factory, the clock, and the hub lobby changes are announced to."""

    @property
    def sessionmaker(self) -> Sessionmaker: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def hub(self) -> LobbyHub: ...
