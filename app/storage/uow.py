"""One database transaction per command, plus what to announce once it has committed.

The event-log and access-log rows of a command are kept here and written just before the
commit, in one statement on PostgreSQL (a data-modifying CTE writes the access rows): a claim
or a submit is then one round trip shorter than with a flush per table. A hot command can
also have them ride on one of its own statements (``execute_carrying_logs``).
"""

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import TextClause, bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.audit import MAC_COLUMNS, LogName
from app.domain.clock import Clock
from app.domain.roles import Principal
from app.settings import Settings
from app.storage.db import AnyResult, CteStatement, cte_sql, dialect_name, table_of
from app.storage.tables import AccessLog, EventLog

LobbyNotifier = Callable[[str, int], None]
_Row = TypeVar("_Row")


# The columns a writer fills: what the row's MAC covers, then the key it was made with and the MAC.
_EVENT_COLUMNS = (*MAC_COLUMNS[LogName.EVENT], "mac_key", "mac")
_ACCESS_COLUMNS = (*MAC_COLUMNS[LogName.ACCESS], "mac_key", "mac")
# A command writes a few log rows; more than this many of either kind go in two plain inserts.
_JOINED_MAX = 4


def _values(columns: tuple[str, ...], prefix: str, count: int) -> str:
    return ", ".join(
        "(" + ", ".join(f":{prefix}{i}_{c}" for c in columns) + ")" for i in range(count)
    )


def _log_binds(events: int, access: int) -> list[Any]:
    """Named parameters (``e0_action``, ``a0_entity_id``, …) typed like their columns."""
    event_table, access_table = table_of(EventLog), table_of(AccessLog)
    binds = [
        bindparam(f"e{i}_{c}", type_=event_table.c[c].type)
        for i in range(events)
        for c in _EVENT_COLUMNS
    ]
    binds += [
        bindparam(f"a{i}_{c}", type_=access_table.c[c].type)
        for i in range(access)
        for c in _ACCESS_COLUMNS
    ]
    return binds


def _access_cte(access: int) -> str:
    return (
        f"access_rows AS (INSERT INTO access_log ({', '.join(_ACCESS_COLUMNS)}) "
        f"VALUES {_values(_ACCESS_COLUMNS, 'a', access)})"
    )


def _event_insert(events: int) -> str:
    return (
        f"INSERT INTO event_log ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES {_values(_EVENT_COLUMNS, 'e', events)}"
    )


@functools.lru_cache(maxsize=_JOINED_MAX * _JOINED_MAX)
def _joined_insert(events: int, access: int) -> Any:
    """PostgreSQL: ``events`` event-log rows and ``access`` access-log rows in one statement.

    Written once per pair of counts; as text it is cached whole (an INSERT with a CTE is not).
    """
    return text(f"WITH {_access_cte(access)} {_event_insert(events)}").bindparams(
        *_log_binds(events, access)
    )


@functools.lru_cache(maxsize=64)
def _carrying(events: int, access: int, statement: CteStatement) -> TextClause:
    """PostgreSQL: ``statement`` with the log rows written by WITH queries before its own."""
    logs = []
    if access:
        logs.append(_access_cte(access))
    if events:
        logs.append(f"event_rows AS ({_event_insert(events)})")
    return text(cte_sql(statement, tuple(logs))).bindparams(
        *_log_binds(events, access), *statement.binds
    )


def _log_params(events: list[dict[str, Any]], access: list[dict[str, Any]]) -> dict[str, Any]:
    params = {f"e{i}_{key}": value for i, row in enumerate(events) for key, value in row.items()}
    params.update(
        {f"a{i}_{key}": value for i, row in enumerate(access) for key, value in row.items()}
    )
    return params


# Core inserts: the ORM's bulk-insert path costs several times more Python per row.
_EVENT_INSERT = insert(table_of(EventLog))
_ACCESS_INSERT = insert(table_of(AccessLog))


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
        self._after_commit: list[Callable[[], None]] = []
        self._events: list[dict[str, Any]] = []
        self._access: list[dict[str, Any]] = []
        self._now: datetime | None = None

    def now(self) -> datetime:
        """One 'now' per command, so every row it writes carries the same instant."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    @property
    def dialect(self) -> str:
        return dialect_name(self.session)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    async def flush(self) -> None:
        """Send what the session holds to the database (still in this transaction)."""
        await self.session.flush()

    def add(self, *rows: Any) -> None:
        """New rows (table models), inserted at the next flush or at commit."""
        self.session.add_all(rows)

    async def get(self, model: type[_Row], key: Any) -> _Row | None:
        """The row of ``model`` with primary key ``key`` (from the session when it holds it)."""
        return await self.session.get(model, key)

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
        self._events.append(
            {
                "municipality_code": municipality_code,
                "at": self.now(),
                "actor_id": principal.person_id if principal else None,
                "actor_role": principal.role if principal else None,
                "entity": entity,
                "entity_id": entity_id,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "data": data,
            }
        )

    def record_access(self, row: dict[str, Any]) -> None:
        """Append to the access log in this transaction (see app.services.access)."""
        self._access.append(row)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction; when it rolls back, so do the log rows kept inside it."""
        marks = len(self._events), len(self._access)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self._events[marks[0] :]
            del self._access[marks[1] :]
            raise

    def sign(self, log: LogName, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows with their keyed MACs: the sealer chains no log row without one."""
        keys = self.settings.audit.keys
        return [keys.sign(log, row) for row in rows]

    def _take_logs(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        events, self._events = self._events, []
        access, self._access = self._access, []
        return self.sign(LogName.EVENT, events), self.sign(LogName.ACCESS, access)

    async def write_logs(self) -> None:
        """Write the log rows kept so far (commit does it; a reader of the logs may call it)."""
        events, access = self._take_logs()
        if (
            events
            and access
            and self.dialect == "postgresql"
            and max(len(events), len(access)) <= _JOINED_MAX
        ):
            await self.session.execute(
                _joined_insert(len(events), len(access)), _log_params(events, access)
            )
            return
        # One row is one plain execute; several go as one executemany.
        if events:
            await self.session.execute(_EVENT_INSERT, events[0] if len(events) == 1 else events)
        if access:
            await self.session.execute(_ACCESS_INSERT, access[0] if len(access) == 1 else access)

    async def execute_carrying_logs(
        self, statement: CteStatement, params: dict[str, Any]
    ) -> AnyResult:
        """PostgreSQL only: run ``statement``, writing the log rows kept so far in the same round
        trip (as WITH queries before its own). More rows than a few go in their own inserts
        first."""
        if max(len(self._events), len(self._access)) > _JOINED_MAX:
            await self.write_logs()
        events, access = self._take_logs()
        return await self.session.execute(
            _carrying(len(events), len(access), statement),
            {**_log_params(events, access), **params},
        )

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this command has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.write_logs()
        await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
        outbox, self._lobby_outbox = self._lobby_outbox, {}
        if self._notify_lobby is not None:
            for office_id, seq in outbox.items():  # only now: a rolled-back call is never shown
                self._notify_lobby(office_id, seq)

    async def rollback(self) -> None:
        self._lobby_outbox.clear()
        self._events.clear()
        self._access.clear()
        self._after_commit.clear()
        await self.session.rollback()
