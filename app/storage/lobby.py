"""The lobby channel: per-office event sequence and the events' history."""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import CteStatement, cte_text, dialect_name, rows_matched, table_of
from app.storage.tables import LobbyChannel, LobbyEvent
from app.storage.uow import UnitOfWork

NOTIFY_CHANNEL = "madoguchi_lobby"


_lobby_channel = table_of(LobbyChannel)
_lobby_event = table_of(LobbyEvent)

_NEXT_SEQ = (
    update(_lobby_channel)
    .where(_lobby_channel.c.office_id == bindparam("office"))
    .values(seq=_lobby_channel.c.seq + 1, updated_at=bindparam("at"))
    .returning(_lobby_channel.c.seq)
)


async def next_seq(session: AsyncSession, office_id: str, at: datetime) -> int:
    """Take the office's next seq. The channel row stays locked until this transaction ends, so
    every earlier lobby change has committed and is visible to what this transaction reads next."""
    result = await session.execute(_NEXT_SEQ, {"office": office_id, "at": at})
    return int(result.scalar_one())


_EVENT_INSERT = insert(_lobby_event)
# PostgreSQL, one round trip: the row, and the notification every process's listener receives
# only if this transaction commits. A CteStatement, so that a command's log rows can ride on it.
EVENT_INSERT_NOTIFY = CteStatement(
    ctes=(
        "stored AS (INSERT INTO lobby_event (office_id, seq, municipality_code, type, at, data) "
        "VALUES (:ev_office_id, :ev_seq, :ev_municipality_code, :ev_type, :ev_at, :ev_data) "
        "RETURNING seq)",
    ),
    final=f"SELECT pg_notify('{NOTIFY_CHANNEL}', :ev_payload) FROM stored",
    binds=tuple(
        bindparam("ev_" + name, type_=_lobby_event.c[name].type)
        for name in ("office_id", "seq", "municipality_code", "type", "at", "data")
    ),
)


def event_row(
    *,
    seq: int,
    municipality_code: str,
    office_id: str,
    type_: str,
    at: datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "office_id": office_id,
        "seq": seq,
        "municipality_code": municipality_code,
        "type": type_,
        "at": at,
        "data": data,
    }


def notify_params(row: dict[str, Any]) -> dict[str, Any]:
    """``EVENT_INSERT_NOTIFY``'s parameters for an ``event_row``."""
    return {
        "ev_payload": f"{row['office_id']}:{row['seq']}",
        **{"ev_" + k: v for k, v in row.items()},
    }


async def insert_event(session: AsyncSession, row: dict[str, Any]) -> None:
    """Store an ``event_row`` of a seq taken with ``next_seq``, announced to every process on
    commit (PostgreSQL)."""
    if dialect_name(session) == "postgresql":
        await session.execute(cte_text(EVENT_INSERT_NOTIFY), notify_params(row))
    else:
        await session.execute(_EVENT_INSERT, row)


async def seq_for_change(uow: UnitOfWork, office_id: str, at: datetime) -> int:
    """A lobby change's seq (``next_seq``), for an event ``store_event`` writes next. On SQLite
    the command's log rows so far are written first; on PostgreSQL they ride on the event."""
    if not uow.is_postgresql:
        await uow.write_logs()
    return await next_seq(uow.session, office_id, at)


async def store_event(uow: UnitOfWork, row: dict[str, Any]) -> None:
    """``insert_event`` for a command: on PostgreSQL the event, its notification and the
    command's log rows kept so far go in one round trip."""
    if uow.is_postgresql:
        await uow.execute_carrying_logs(EVENT_INSERT_NOTIFY, notify_params(row))
    else:
        await insert_event(uow.session, row)


async def add_event(
    session: AsyncSession,
    *,
    seq: int,
    municipality_code: str,
    office_id: str,
    type_: str,
    at: datetime,
    data: dict[str, Any],
) -> None:
    """Store the event of a seq taken with ``next_seq``, announced to every process on commit."""
    await insert_event(
        session,
        event_row(
            seq=seq,
            municipality_code=municipality_code,
            office_id=office_id,
            type_=type_,
            at=at,
            data=data,
        ),
    )


async def append_event(
    session: AsyncSession,
    *,
    municipality_code: str,
    office_id: str,
    type_: str,
    at: datetime,
    data: dict[str, Any],
) -> int:
    """Store a lobby event with the office's next seq; the row lock orders concurrent writers."""
    seq = await next_seq(session, office_id, at)
    await add_event(
        session,
        seq=seq,
        municipality_code=municipality_code,
        office_id=office_id,
        type_=type_,
        at=at,
        data=data,
    )
    return seq


async def get_channel(session: AsyncSession, office_id: str) -> LobbyChannel | None:
    return await session.get(LobbyChannel, office_id)


async def list_events_after(
    session: AsyncSession, office_id: str, after_seq: int, *, up_to: int | None = None, limit: int
) -> list[LobbyEvent]:
    statement = (
        select(LobbyEvent)
        .where(col(LobbyEvent.office_id) == office_id, col(LobbyEvent.seq) > after_seq)
        .order_by(col(LobbyEvent.seq))
        .limit(limit)
    )
    if up_to is not None:
        statement = statement.where(col(LobbyEvent.seq) <= up_to)
    return list((await session.execute(statement)).scalars())


async def channel_seqs(session: AsyncSession, office_ids: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(col(LobbyChannel.office_id), col(LobbyChannel.seq)).where(
            col(LobbyChannel.office_id).in_(office_ids)
        )
    )
    return {office_id: int(seq) for office_id, seq in rows}


async def prune_events(session: AsyncSession, *, keep: int) -> int:
    """Drop history older than the last ``keep`` events of each office; returns rows removed."""
    removed = 0
    for office_id, seq in (
        await session.execute(select(col(LobbyChannel.office_id), col(LobbyChannel.seq)))
    ).all():
        result = await session.execute(
            delete(LobbyEvent).where(
                col(LobbyEvent.office_id) == office_id,
                col(LobbyEvent.seq) <= seq - keep,
            )
        )
        removed += rows_matched(result)
    return removed


async def oldest_seq(session: AsyncSession, office_id: str) -> int | None:
    return (
        await session.execute(
            select(func.min(LobbyEvent.seq)).where(col(LobbyEvent.office_id) == office_id)
        )
    ).scalar_one_or_none()
