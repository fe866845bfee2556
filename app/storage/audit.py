"""SQL of the audit chains: unsealed rows, the locked head row, sealed rows in chain order."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import MappingResult, Select, Table, bindparam, func, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.audit import CHAINED_COLUMNS, GENESIS_HASH, REJECTED, ChainHead, LogName
from app.storage.db import dialect_name, table_of
from app.storage.tables import AccessLog, AuditChainHead, EventLog, Municipality

TABLES: dict[LogName, Table] = {
    LogName.EVENT: table_of(EventLog),
    LogName.ACCESS: table_of(AccessLog),
}
HEAD: Table = table_of(AuditChainHead)


def _columns(log: LogName) -> list[Any]:
    table = TABLES[log]
    return [table.c[name] for name in CHAINED_COLUMNS[log]] + [
        table.c.chain_hash,
        table.c.mac,
        table.c.mac_key,
    ]


def _unsealed(table: Table) -> Any:
    """Not chained and not refused (a refused row keeps chain_seq NULL, chain_hash REJECTED)."""
    return table.c.chain_seq.is_(None) & table.c.chain_hash.is_(None)


async def municipalities_with_unsealed(session: AsyncSession, log: LogName) -> list[str]:
    table = TABLES[log]
    statement = select(table.c.municipality_code).where(_unsealed(table)).distinct()
    return sorted((await session.execute(statement)).scalars())


async def lock_head(
    session: AsyncSession, log: LogName, municipality_code: str, now: datetime
) -> ChainHead:
    """The chain's head row, created at genesis if need be, locked until the transaction ends.

    On PostgreSQL the row lock makes sealers in several processes take turns; on SQLite the
    transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    where = (HEAD.c.log == str(log)) & (HEAD.c.municipality_code == municipality_code)
    locked = (
        select(HEAD.c.last_seq, HEAD.c.last_hash, HEAD.c.unkeyed_upto)
        .where(where)
        .with_for_update()
    )
    row = (await session.execute(locked)).first()
    if row is None:
        insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
        await session.execute(
            insert(HEAD)
            .values(
                log=str(log),
                municipality_code=municipality_code,
                last_seq=0,
                last_hash=GENESIS_HASH,
                sealed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["log", "municipality_code"])
        )
        row = (await session.execute(locked)).one()
    return ChainHead(int(row.last_seq), str(row.last_hash), int(row.unkeyed_upto))


def _by_name(rows: MappingResult) -> list[Mapping[str, Any]]:
    """The rows as mappings by column name (SQLAlchemy types their keys more widely)."""
    return cast(list[Mapping[str, Any]], list(rows))


async def unsealed_rows(
    session: AsyncSession, log: LogName, municipality_code: str, limit: int
) -> list[Mapping[str, Any]]:
    """The oldest rows not yet in the chain (by id; a row committed late simply comes later)."""
    table = TABLES[log]
    statement = (
        select(*_columns(log))
        .where(table.c.municipality_code == municipality_code, _unsealed(table))
        .order_by(table.c.id)
        .limit(limit)
    )
    return _by_name((await session.execute(statement)).mappings())


async def reject(session: AsyncSession, log: LogName, row_ids: Sequence[int]) -> None:
    """Mark rows the sealer refused: they stay out of the chain, and out of the next seal."""
    table = TABLES[log]
    await session.execute(
        update(table)
        .where(table.c.id.in_(row_ids), table.c.chain_seq.is_(None))
        .values(chain_hash=REJECTED)
    )


async def rejected_rows(
    session: AsyncSession, log: LogName, municipality_code: str, limit: int
) -> tuple[int, list[int]]:
    """How many rows the sealer refused, and the ids of the first ``limit`` of them."""
    table = TABLES[log]
    where = (
        (table.c.municipality_code == municipality_code)
        & table.c.chain_seq.is_(None)
        & (table.c.chain_hash == REJECTED)
    )
    count = int(
        (await session.execute(select(func.count()).select_from(table).where(where))).scalar_one()
    )
    ids = (
        list(
            (
                await session.execute(
                    select(table.c.id).where(where).order_by(table.c.id).limit(limit)
                )
            ).scalars()
        )
        if count
        else []
    )
    return count, [int(i) for i in ids]


async def write_seals(session: AsyncSession, log: LogName, seals: Sequence[dict[str, Any]]) -> None:
    """Give each row (``{"row_id", "seq", "hash"}``) its place and hash; one executemany."""
    table = TABLES[log]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(chain_seq=bindparam("seq"), chain_hash=bindparam("hash"))
    )
    await session.execute(statement, list(seals))


async def move_head(
    session: AsyncSession, log: LogName, municipality_code: str, head: ChainHead, now: datetime
) -> None:
    await session.execute(
        update(HEAD)
        .where(HEAD.c.log == str(log), HEAD.c.municipality_code == municipality_code)
        .values(last_seq=head.last_seq, last_hash=head.last_hash, sealed_at=now)
    )


async def find_head(
    session: AsyncSession, log: LogName, municipality_code: str
) -> ChainHead | None:
    row = (
        await session.execute(
            select(HEAD.c.last_seq, HEAD.c.last_hash, HEAD.c.unkeyed_upto).where(
                HEAD.c.log == str(log), HEAD.c.municipality_code == municipality_code
            )
        )
    ).first()
    return ChainHead(int(row.last_seq), str(row.last_hash), int(row.unkeyed_upto)) if row else None


async def sealed_rows(
    session: AsyncSession,
    log: LogName,
    municipality_code: str,
    *,
    after: int,
    upto: int | None,
    limit: int,
) -> list[Mapping[str, Any]]:
    """The next sealed rows in chain order after ``after`` (a keyset page, read by the chain
    index)."""
    table = TABLES[log]
    statement = select(*_columns(log)).where(
        table.c.municipality_code == municipality_code, table.c.chain_seq > after
    )
    if upto is not None:
        statement = statement.where(table.c.chain_seq <= upto)
    statement = statement.order_by(table.c.chain_seq).limit(limit)
    return _by_name((await session.execute(statement)).mappings())


async def first_beyond_head(
    session: AsyncSession, log: LogName, municipality_code: str
) -> tuple[int, int] | None:
    """(chain_seq, id) of the first row numbered past the current head, in one statement."""
    table = TABLES[log]
    head_seq = (
        select(HEAD.c.last_seq)
        .where(HEAD.c.log == str(log), HEAD.c.municipality_code == municipality_code)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(table.c.chain_seq, table.c.id)
            .where(table.c.municipality_code == municipality_code, table.c.chain_seq > head_seq)
            .order_by(table.c.chain_seq)
            .limit(1)
        )
    ).first()
    return (int(row.chain_seq), int(row.id)) if row else None


async def count_unsealed(session: AsyncSession, log: LogName, municipality_code: str) -> int:
    table = TABLES[log]
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.municipality_code == municipality_code, _unsealed(table))
            )
        ).scalar_one()
    )


async def chain_municipalities(session: AsyncSession, municipality_code: str | None) -> list[str]:
    """Every municipality that has (or should have) chains: registered ones and those with heads."""
    registered: Select[str] = select(col(Municipality.code).label("code"))
    headed = select(HEAD.c.municipality_code.label("code"))
    codes = sorted((await session.execute(union(registered, headed))).scalars())
    return [c for c in codes if municipality_code is None or c == municipality_code]
