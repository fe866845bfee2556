"""Engine and session factories, one per process; SQLite and PostgreSQL flavours."""

import functools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    BindParameter,
    CursorResult,
    MetaData,
    Result,
    Row,
    Table,
    TextClause,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import SQLModel

# Stable constraint names, set before the first migration so later ones can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

# What the layers above hold a database session and its factory as (they import no sqlalchemy).
Session = AsyncSession
Sessionmaker = async_sessionmaker[AsyncSession]

# A row, and a result, of any number of columns of any types.
AnyRow = Row[*tuple[Any, ...]]
AnyResult = Result[*tuple[Any, ...]]


def rows_matched(result: AnyResult) -> int:
    """How many rows an UPDATE or DELETE matched: its cursor's row count."""
    assert isinstance(result, CursorResult)
    return result.rowcount or 0


def dialect_name(session: AsyncSession) -> str:
    """The database ``session`` talks to: "postgresql" or "sqlite"."""
    bind = session.bind
    assert bind is not None, "sessions come from the sessionmaker, bound to its engine"
    return bind.dialect.name


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model (SQLModel does not declare ``__table__``)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


_Model = TypeVar("_Model", bound=SQLModel)


def as_loaded(model: type[_Model], values: dict[str, Any]) -> _Model:
    """A row read by a Core statement as the ORM would have loaded it: its values taken as
    they are (they come from the database; pydantic's validation costs about 30 times more),
    an object outside the session whose later changes are tracked as usual."""
    configure_mappers()  # once, then a no-op: attribute tracking needs configured mappers
    row: _Model = manager_of_class(model).new_instance()
    row.__dict__.update(values)
    return row


@dataclass(frozen=True, eq=False)
class CteStatement:
    """A PostgreSQL statement in two parts, so that more rows can be written by the same
    round trip: its own ``WITH`` queries (without the ``WITH``) and the final statement.
    Built once at import; compared and hashed by identity (it keys compiled-statement caches)."""

    ctes: tuple[str, ...]
    final: str
    binds: tuple[BindParameter[Any], ...] = ()


def cte_sql(statement: CteStatement, before: tuple[str, ...] = ()) -> str:
    """``statement``'s text, with the WITH queries ``before`` ahead of its own."""
    ctes = (*before, *statement.ctes)
    return (f"WITH {', '.join(ctes)} " if ctes else "") + statement.final


@functools.cache
def cte_text(statement: CteStatement) -> TextClause:
    """``statement`` on its own, compiled once."""
    return text(cte_sql(statement)).bindparams(*statement.binds)


def new_id() -> str:
    """An opaque, unguessable identifier for rows exposed in URLs."""
    return uuid.uuid4().hex


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# orjson reads an integer beyond 64 bits as a float (from 19 digits when negative): text with
# a run of 19 digits goes to the standard parser.
_LONG_DIGITS = re.compile(r"\d{19}")


def _json_loads(text: str) -> Any:
    """JSON columns as read: orjson (several times faster on a claim's application row), or the
    standard parser for what orjson would read otherwise or refuses (integers over 64 bits,
    NaN, lone surrogates), so every value reads as it always has."""
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine with the pragmas and pool this project relies on."""
    # Errors must never carry row values (names, My Numbers) into logs or responses.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Prepared statements are planned once with the statistics of that moment; a queue or an
    # intake table that grows from empty to millions keeps a plan made for an empty table.
    # No JIT: it compiles plans worth seconds, and costs milliseconds on the short statements
    # this service runs (and on asyncpg's type introspection of each new connection).
    kwargs.setdefault(
        "connect_args", {"server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off"}}
    )
    kwargs.setdefault("json_deserializer", _json_loads)
    if "poolclass" not in kwargs:
        # Kept connections for a room of operators: a connection made for a peak and closed
        # when it is returned costs a backend start, its catalogue caches and every statement
        # prepared again (fifty operators on 10 kept connections opened ~7 a second).
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 10)
        # No pre-ping: it is a round trip on every checkout. A connection that died with the
        # server fails its statement (a 503) and SQLAlchemy then invalidates the whole pool,
        # so one request per process sees a restart, and the next gets a fresh connection.
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # Every transaction takes the write lock up front. A deferred transaction that reads
        # and then writes can fail with SQLITE_BUSY when another writer got in between, which
        # would turn two kiosks issuing at once into an error instead of a short wait.
        # Sessions that only read (read_only below) begin deferred: in WAL mode they see one
        # snapshot and never hold the write lock.
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_READ_ONLY = "madoguchi_read_only"


async def read_only(session: AsyncSession) -> None:
    """Begin ``session``'s transaction as one that never writes.

    SQLite: a deferred transaction, which takes no write lock (kiosks and counters never wait
    for it). PostgreSQL: a read-only transaction. Call before the session's first statement."""
    if dialect_name(session) == "postgresql":
        await session.connection(execution_options={"postgresql_readonly": True})
    else:
        await session.connection(execution_options={_READ_ONLY: True})


async def read_one_moment(session: AsyncSession) -> None:
    """Begin ``session``'s transaction so that every read in it sees the same moment.

    PostgreSQL: REPEATABLE READ and read-only (its default, READ COMMITTED, gives each statement
    the newest commits). SQLite: a deferred transaction, which in WAL mode reads one snapshot
    from its first statement to its end without taking the write lock (kiosks and counters
    commit meanwhile; this transaction does not see them)."""
    if dialect_name(session) == "postgresql":
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    else:
        await read_only(session)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
