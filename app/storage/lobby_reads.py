"""What a lobby event reads, in one statement: the queue figures of the office's every category
(app/storage/tickets.py ``figures_statement``) and, when its waits are replayed, the office's
lobby (app/storage/estimates.py ``lobby_statement``). A lobby command reads them while it holds
the office's channel row, so one round trip less is also a shorter wait for the next command."""

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, CompoundSelect, null, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lobby_replay import CounterNow, LobbyTicket
from app.storage.db import dialect_name, table_of
from app.storage.estimates import lobby_of, lobby_statement
from app.storage.tables import Ticket
from app.storage.tickets import QueueFigures, figures_of, figures_params, figures_statement

_ticket = table_of(Ticket)
# The lobby's rows come after the figures' (kinds 0 and 1) as kinds 10, 11 and 12.
_LOBBY_KIND = 10


@functools.cache
def _figures_and_lobby(
    ahead_of_priority: bool | None, dialect: str, with_waiting: bool
) -> CompoundSelect[Any]:
    """Both statements' rows in one: the figures' 12 columns (their last, a rank, left out) then
    the lobby's in the same places, each padded with the other's columns as NULL."""
    figures = list(figures_statement(False, ahead_of_priority, dialect).subquery("figures").c)
    # kind, id, category, queued, priority, slot, passed, target, stops, counter, paused, since
    (kind, id_, category, queued, priority, slot, passed, target, stops, counter, paused, since) = (
        lobby_statement(with_waiting).subquery("lobby").c
    )
    # Typed in the first branch: the union's columns convert as that branch's do.
    no_since = type_coerce(null(), _ticket.c.queued_at.type)
    no_flag = type_coerce(null(), Boolean())
    no_stops = type_coerce(null(), _ticket.c.stops.type)
    first = select(*figures[:12], no_since, no_flag, no_flag, no_stops)
    second = select(
        kind + _LOBBY_KIND,
        id_,
        category,
        target,
        counter,
        passed,
        null(),
        null(),
        null(),
        null(),
        queued,
        slot,
        since,
        priority,
        paused,
        stops,
    )
    return union_all(first, second)


@dataclass(frozen=True)
class EventReads:
    """The queue figures by prefix, and the lobby (its waiting tickets, its counters) when read."""

    figures: list[QueueFigures]
    lobby: tuple[list[LobbyTicket], list[CounterNow]] | None


async def read_for_event(
    session: AsyncSession,
    office_id: str,
    business_day: date,
    *,
    sample: int,
    with_lobby: bool,
    ahead_of: Ticket | None = None,
    with_waiting: bool = True,
) -> EventReads:
    """``queue_figures`` of every active category of the office (with ``ahead_of``, how many of
    its category come before it) and, ``with_lobby``, ``lobby_now``: one statement.
    ``with_waiting`` False: the lobby's counters and the tickets at them, no waiting ticket
    (the caller knows them)."""
    params = figures_params(office_id, business_day, sample, ahead_of)
    priority = None if ahead_of is None else ahead_of.is_priority
    dialect = dialect_name(session)
    if not with_lobby:
        rows = (await session.execute(figures_statement(False, priority, dialect), params)).all()
        return EventReads(figures_of([row[:12] for row in rows], sample), None)
    result = await session.execute(_figures_and_lobby(priority, dialect, with_waiting), params)
    figure_rows = []
    lobby_rows = []
    for row in result.all():
        kind = row[0]
        if kind < _LOBBY_KIND:
            figure_rows.append(row[:12])
        else:
            lobby_rows.append(
                (
                    kind - _LOBBY_KIND,
                    row[1],
                    row[2],
                    row[10],
                    row[13],
                    row[11],
                    row[5],
                    row[3],
                    row[15],
                    row[4],
                    row[14],
                    row[12],
                )
            )
    return EventReads(figures_of(figure_rows, sample), lobby_of(lobby_rows))
