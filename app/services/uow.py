"""One database transaction per command, plus what to announce once it has committed."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import Clock
from app.domain.roles import Principal
from app.settings import Settings
from app.storage.tables import EventLog

LobbyNotifier = Callable[[str, int], None]


class UnitOfWork:
    """A session, the clock and settings, and an outbox of lobby notifications."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        clock: Clock,
        settings: Settings,
        notify_lobby: LobbyNotifier | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.principal: Principal | None = None
        self._notify_lobby = notify_lobby
        self._lobby_outbox: dict[str, int] = {}
        self._now: datetime | None = None

    def now(self) -> datetime:
        """One 'now' per command, so every row it writes carries the same instant."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name

    def lobby_changed(self, office_id: str, seq: int) -> None:
        self._lobby_outbox[office_id] = max(seq, self._lobby_outbox.get(office_id, 0))

    def log(
        self,
        *,
        entity: str,
        entity_id: str,
        action: str,
        municipality_code: str,
        from_status: str | None = None,
        to_status: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append to the event log in this transaction: who, when, what, from and to."""
        principal = self.principal
        self.session.add(
            EventLog(
                municipality_code=municipality_code,
                at=self.now(),
                actor_id=principal.token_id if principal else None,
                actor_role=principal.role if principal else None,
                entity=entity,
                entity_id=entity_id,
                action=action,
                from_status=from_status,
                to_status=to_status,
                data=data,
            )
        )

    async def commit(self) -> None:
        await self.session.commit()
        outbox, self._lobby_outbox = self._lobby_outbox, {}
        if self._notify_lobby is not None:
            for office_id, seq in outbox.items():  # only now: a rolled-back call is never shown
                self._notify_lobby(office_id, seq)

    async def rollback(self) -> None:
        self._lobby_outbox.clear()
        await self.session.rollback()
