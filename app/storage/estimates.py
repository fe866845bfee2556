"""What the wait estimates read and write apart from the queue figures: a category's recent
service times and counters (the status page's estimate), and each model's estimate at issue."""

import functools
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.lobby_replay import CounterNow, LobbyTicket
from app.domain.tickets import AT_COUNTER, TicketStatus
from app.storage.db import table_of
from app.storage.tables import Counter, CounterCategory, Ticket, TicketStop

_ticket = table_of(Ticket)
_stop = table_of(TicketStop)


async def recent_service_seconds(
    session: AsyncSession, category_id: str, *, limit: int
) -> list[float]:
    """The category's newest ``limit`` service times, of finished tickets and of finished stops
    of plans (``ticket_stop``) together."""
    times: list[tuple[datetime, float]] = []
    for table, where in (
        (_ticket, [_ticket.c.status == TicketStatus.DONE.value]),
        (_stop, []),
    ):
        rows = await session.execute(
            select(table.c.started_at, table.c.finished_at)
            .where(table.c.category_id == category_id, table.c.started_at.is_not(None), *where)
            .order_by(table.c.finished_at.desc())
            .limit(limit)
        )
        times += [
            (finished, (finished - started).total_seconds())
            for started, finished in rows
            if started and finished
        ]
    return [seconds for _finished, seconds in sorted(times, key=lambda t: t[0], reverse=True)][
        :limit
    ]


async def counters_serving(session: AsyncSession, category_id: str) -> tuple[int, int]:
    """Active counters serving the category, and of those the ones not paused."""
    statement = (
        select(func.count(), func.count().filter(col(Counter.paused).is_(False)))
        .select_from(CounterCategory)
        .join(Counter, col(Counter.id) == col(CounterCategory.counter_id))
        .where(col(CounterCategory.category_id) == category_id, col(Counter.is_active).is_(True))
    )
    configured, open_ = (await session.execute(statement)).one()
    return int(configured), int(open_)


async def record_estimate(
    session: AsyncSession, ticket_id: str, estimate_min: int, estimates: dict[str, int]
) -> None:
    """Keep the wait a new ticket was shown (its error is kept at the first call) and each
    model's estimate beside it."""
    await session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id)
        .values(estimate_min=estimate_min, estimates=estimates)
    )


_counter = table_of(Counter)
_counter_category = table_of(CounterCategory)


@functools.cache
def lobby_statement(with_waiting: bool = True) -> CompoundSelect[Any]:
    """One statement, a row per waiting ticket of the office's day (kind 0; ``with_waiting``
    False: none, the caller knows them), per ticket at a counter (kind 1) and per category an
    active counter serves (kind 2)."""
    t = _ticket
    office_day = [t.c.office_id == bindparam("office_id"), t.c.business_day == bindparam("day")]
    no_text = literal(None, type_=t.c.id.type)
    no_time = literal(None, type_=t.c.queued_at.type)
    no_flag = literal(None, type_=_counter.c.paused.type)
    no_stops = literal(None, type_=t.c.stops.type)
    waiting = select(
        literal(0).label("kind"),
        t.c.id,
        t.c.category_id,
        t.c.queued_at,
        t.c.is_priority,
        t.c.slot_at,
        t.c.passed_by,
        t.c.target_counter_id,
        t.c.stops,
        no_text,
        no_flag,
        no_time,
    ).where(*office_day, t.c.status == literal_column(f"'{TicketStatus.WAITING.value}'"))
    at_counter = select(
        literal(1),
        t.c.id,
        t.c.category_id,
        t.c.queued_at,
        t.c.is_priority,
        no_time,
        literal(0),
        no_text,
        t.c.stops,
        t.c.counter_id,
        no_flag,
        func.coalesce(t.c.started_at, t.c.called_at),
    ).where(
        *office_day,
        t.c.status.in_([s.value for s in AT_COUNTER]),
        t.c.counter_id.is_not(None),
    )
    served = (
        select(
            literal(2),
            no_text,
            _counter_category.c.category_id,
            no_time,
            no_flag,
            no_time,
            literal(0),
            no_text,
            no_stops,
            _counter.c.id,
            _counter.c.paused,
            no_time,
        )
        .select_from(
            _counter_category.join(_counter, _counter.c.id == _counter_category.c.counter_id)
        )
        .where(_counter.c.office_id == bindparam("office_id"), _counter.c.is_active.is_(True))
    )
    if not with_waiting:
        return union_all(at_counter, served)
    return union_all(waiting, at_counter, served)


async def lobby_now(
    session: AsyncSession, office_id: str, business_day: date
) -> tuple[list[LobbyTicket], list[CounterNow]]:
    """The office's waiting tickets (every category) and its active counters with the ticket
    at each and since when, for the ``lobby_replay`` wait model: one statement, as many rows as
    tickets waiting or at counters and counter categories."""
    rows = (
        await session.execute(lobby_statement(), {"office_id": office_id, "day": business_day})
    ).all()
    return lobby_of(rows)


def lobby_of(rows: Any) -> tuple[list[LobbyTicket], list[CounterNow]]:
    """``lobby_now`` from the rows of ``lobby_statement``."""
    waiting: list[LobbyTicket] = []
    at_counter: dict[str, tuple[LobbyTicket, datetime | None]] = {}
    served: dict[str, set[str]] = {}
    paused: dict[str, bool] = {}
    for kind, id_, category, queued, priority, slot, passed, target, stops, counter, *rest in rows:
        pause, since = rest
        if kind == 2:
            served.setdefault(counter, set()).add(category)
            paused[counter] = bool(pause)
            continue
        ticket = LobbyTicket(
            id=id_,
            category_id=category,
            queued_at=queued,
            is_priority=bool(priority),
            slot_at=slot,
            passed_by=int(passed or 0),
            target_counter_id=target,
            stops=tuple(stops or ()),
        )
        if kind == 0:
            waiting.append(ticket)
        else:
            at_counter[counter] = (ticket, since)
    counters = [
        CounterNow(
            id=counter,
            categories=frozenset(categories),
            paused=paused[counter],
            at_counter=at_counter.get(counter, (None, None))[0],
            busy_since=at_counter.get(counter, (None, None))[1],
        )
        for counter, categories in sorted(served.items())
    ]
    return waiting, counters
