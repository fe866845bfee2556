"""Ticket queries: the next ticket for a counter, queue depth and service times (numbering:
app/storage/numbering.py)."""

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    CompoundSelect,
    Integer,
    Table,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.tickets import (
    CALL_ORDER,
    AppointmentWindow,
    TicketStatus,
    Waiting,
    next_to_call,
)
from app.storage.db import dialect_name, table_of
from app.storage.tables import Counter, CounterCategory, Ticket, TicketCategory, TicketStop

# The lobby's hot statements are built once, with bind parameters: building a statement costs
# more CPU than running it, and every kiosk press and counter call runs several.
_ticket = table_of(Ticket)
_category = table_of(TicketCategory)
_counter = table_of(Counter)
_counter_category = table_of(CounterCategory)
_stop = table_of(TicketStop)

# Status constants inline, not as parameters: a prepared statement's generic plan can then still
# prove the partial indexes' predicates (ix_ticket_waiting, ix_ticket_done).
_WAITING: ColumnClause[str] = literal_column(f"'{TicketStatus.WAITING.value}'")
_DONE: ColumnClause[str] = literal_column(f"'{TicketStatus.DONE.value}'")

# The order counters call waiting tickets in, from app/domain/tickets.py ``CALL_ORDER``:
# priority tickets first, then the longest waiting (queued_at; the id breaks ties). The claim and
# the waiting list sort by it, the count of those ahead of a ticket (``_before``) is the same
# order as a condition, and ``next_to_call`` merges checked-in appointments into it.
CALL_ORDER_COLUMNS = tuple(
    _ticket.c[name].desc() if descending else _ticket.c[name] for name, descending in CALL_ORDER
)


@dataclass
class QueueFigures:
    """One category's queue as it stands: what displays and wait estimates are made of."""

    category_id: str
    prefix: str
    name_ja: str
    name_en: str
    default_service_s: int
    waiting: int
    counters: int
    # Of those, the ones not paused (calling now).
    counters_open: int = 0
    recent_service_s: list[float] = field(default_factory=list)
    # Waiting tickets called before the one asked about (``queue_figures(ahead_of=...)``).
    ahead: int = 0


def _counter_scope(counter: Counter, business_day: date) -> list[Any]:
    """Waiting tickets this counter may call: sent to it, or of categories it serves and not
    sent elsewhere."""
    served = select(col(CounterCategory.category_id)).where(
        col(CounterCategory.counter_id) == counter.id
    )
    return [
        col(Ticket.office_id) == counter.office_id,
        col(Ticket.business_day) == business_day,
        col(Ticket.status) == TicketStatus.WAITING,
        or_(
            col(Ticket.target_counter_id) == counter.id,
            and_(
                col(Ticket.target_counter_id).is_(None),
                col(Ticket.category_id).in_(served),
            ),
        ),
    ]


# Waiting tickets read at once when appointments are merged in (a queue longer than this is
# merged over its first rows in walk-in order).
MERGE_ROWS = 500


async def claim_next_for_counter(
    session: AsyncSession,
    *,
    counter: Counter,
    business_day: date,
    now: datetime | None = None,
    window: AppointmentWindow | None = None,
) -> Ticket | None:
    """Lock the ticket this counter should call: priority first, then the longest waiting,
    with checked-in appointments merged in by ``next_to_call`` (app/domain/tickets.py).

    Tickets another counter is calling at this instant are skipped (SKIP LOCKED), so two
    counters pressing 'next' together never get the same resident. Only tickets sent to this
    counter, or of categories it serves and not sent elsewhere, are considered. Without an
    appointment waiting in that scope, the first statement (``_claim_merged``) finds no rows
    and the second takes the plain walk-in order.
    """
    scope = _counter_scope(counter, business_day)
    if now is not None and window is not None:
        chosen = await _claim_merged(session, scope, now, window)
        if chosen is not None:
            return chosen
    statement = (
        select(Ticket)
        .where(*scope)
        .order_by(*CALL_ORDER_COLUMNS)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().first()


async def _claim_merged(
    session: AsyncSession, scope: list[Any], now: datetime, window: AppointmentWindow
) -> Ticket | None:
    """The merged order's choice, locked, when an appointment waits in the scope (else None).
    A choice another counter has just locked is left out and the rule asked again."""
    # Uncorrelated: whether any waiting ticket of the scope is an appointment's.
    has_appointment = (
        select(col(Ticket.id))
        .where(*scope, col(Ticket.slot_at).is_not(None))
        .correlate(None)
        .exists()
    )
    rows = (
        await session.execute(
            select(
                col(Ticket.id),
                col(Ticket.queued_at),
                col(Ticket.is_priority),
                col(Ticket.slot_at),
                col(Ticket.passed_by),
            )
            .where(*scope, has_appointment)
            .order_by(*CALL_ORDER_COLUMNS)
            .limit(MERGE_ROWS)
        )
    ).all()
    waiting = [Waiting(*row) for row in rows]
    while waiting:
        choice = next_to_call(waiting, now, window)
        assert choice is not None
        locked = (
            (
                await session.execute(
                    select(Ticket)
                    .where(col(Ticket.id) == choice.ticket_id, *scope)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .first()
        )
        if locked is None:
            waiting = [w for w in waiting if w.id != choice.ticket_id]
            continue
        if choice.passed:
            await session.execute(
                update(Ticket)
                .where(col(Ticket.id).in_(choice.passed))
                .values(passed_by=col(Ticket.passed_by) + 1)
            )
        return locked
    return None


async def lock_ticket(
    session: AsyncSession, ticket_id: str, municipality_code: str
) -> Ticket | None:
    statement = (
        select(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.municipality_code) == municipality_code)
        .with_for_update()
    )
    return (await session.execute(statement)).scalars().first()


async def lock_ticket_in_office(
    session: AsyncSession, *, office_id: str, business_day: date, ticket: str
) -> Ticket | None:
    """Lock a ticket of the office named by its id or by today's number (``A-012``)."""
    statement = (
        select(Ticket)
        .where(
            col(Ticket.office_id) == office_id,
            or_(
                col(Ticket.id) == ticket,
                and_(col(Ticket.number) == ticket, col(Ticket.business_day) == business_day),
            ),
        )
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(statement)).scalars().first()


def _before(ticket: Table, *, priority: bool) -> Any:
    """Of the waiting tickets, those called before a ticket queued at :queued_at with :ticket_id
    (and as priority or not, known when the statement is built): ``CALL_ORDER_COLUMNS`` as a
    condition."""
    first, *rest = CALL_ORDER_COLUMNS
    assert first.element is _ticket.c.is_priority and len(rest) == 2, "follows CALL_ORDER_COLUMNS"
    queued_at, id_ = (ticket.c[column.name] for column in rest)
    earlier = or_(
        queued_at < bindparam("queued_at"),
        and_(queued_at == bindparam("queued_at"), id_ < bindparam("ticket_id")),
    )
    # Priority tickets are all ahead of a plain one; among equals, the earlier queued.
    if priority:
        return and_(ticket.c.is_priority.is_(True), earlier)
    return or_(ticket.c.is_priority.is_(True), earlier)


@functools.cache
def _count_ahead(priority: bool) -> Any:
    return select(func.count()).where(
        _ticket.c.office_id == bindparam("office_id"),
        _ticket.c.business_day == bindparam("day"),
        _ticket.c.category_id == bindparam("category_id"),
        _ticket.c.status == _WAITING,
        _ticket.c.target_counter_id.is_(None),
        _ticket.c.id != bindparam("ticket_id"),
        _before(_ticket, priority=priority),
    )


def _ahead_params(ticket: Ticket) -> dict[str, Any]:
    return {"queued_at": ticket.queued_at, "ticket_id": ticket.id}


async def count_ahead(session: AsyncSession, ticket: Ticket) -> int:
    """Waiting tickets of the same category that will be called before this one."""
    params = {
        "office_id": ticket.office_id,
        "day": ticket.business_day,
        "category_id": ticket.category_id,
        **_ahead_params(ticket),
    }
    return int((await session.execute(_count_ahead(ticket.is_priority), params)).scalar_one())


@functools.cache
def figures_statement(
    filtered: bool, ahead_of_priority: bool | None, dialect: str
) -> CompoundSelect[Any]:
    """One statement: a row per category (waiting count, active counters and optionally the
    place of a ticket), then a row per recent service time of those categories."""
    chosen = [_category.c.office_id == bindparam("office_id"), _category.c.is_active.is_(True)]
    if filtered:
        chosen.append(_category.c.id.in_(bindparam("only", expanding=True)))
    # The office's waiting tickets are read once: the count per category and, for a ticket
    # being placed, how many of its category come before it.
    ahead: Any = literal(0)
    if ahead_of_priority is not None:
        ahead = func.count().filter(
            and_(
                _ticket.c.target_counter_id.is_(None),
                _ticket.c.id != bindparam("ticket_id"),
                _before(_ticket, priority=ahead_of_priority),
            )
        )
    waiting_where = [
        _ticket.c.office_id == bindparam("office_id"),
        _ticket.c.business_day == bindparam("day"),
        _ticket.c.status == _WAITING,
    ]
    if filtered:
        waiting_where.append(_ticket.c.category_id.in_(bindparam("only", expanding=True)))
    waiting = (
        select(_ticket.c.category_id, func.count().label("waiting"), ahead.label("ahead"))
        .where(*waiting_where)
        .group_by(_ticket.c.category_id)
        .subquery("waiting")
    )
    serving = (
        select(func.count())
        .select_from(
            _counter_category.join(_counter, _counter.c.id == _counter_category.c.counter_id)
        )
        .where(_counter_category.c.category_id == _category.c.id, _counter.c.is_active.is_(True))
        .scalar_subquery()
    )
    serving_open = (
        select(func.count())
        .select_from(
            _counter_category.join(_counter, _counter.c.id == _counter_category.c.counter_id)
        )
        .where(
            _counter_category.c.category_id == _category.c.id,
            _counter.c.is_active.is_(True),
            _counter.c.paused.is_(False),
        )
        .scalar_subquery()
    )
    no_text = literal(None, type_=_category.c.prefix.type)
    no_number = literal(None, type_=Integer())
    no_time = literal(None, type_=_ticket.c.started_at.type)
    categories = (
        select(
            literal(0).label("kind"),
            _category.c.id,
            _category.c.prefix,
            _category.c.name_ja,
            _category.c.name_en,
            _category.c.default_service_s,
            func.coalesce(waiting.c.waiting, 0).label("waiting"),
            serving.label("counters"),
            serving_open.label("counters_open"),
            func.coalesce(waiting.c.ahead, 0).label("ahead"),
            # Named: a subquery of this statement (app/storage/lobby_reads.py) keeps each column.
            no_time.label("started_at"),
            no_time.label("finished_at"),
            literal(0).label("recency"),
        )
        .select_from(_category.outerjoin(waiting, waiting.c.category_id == _category.c.id))
        .where(*chosen)
    )
    finished = [_ticket.c.status == _DONE, _ticket.c.started_at.is_not(None)]
    if dialect == "postgresql":
        # Per category, its newest finished tickets and finished stops of plans (ticket_stop),
        # and no others: two index walks that stop after ``sample`` rows each however long the
        # category's history; queue_figures keeps the newest ``sample`` of both.
        sample = bindparam("sample", type_=Integer())
        latest = union_all(
            select(_ticket.c.started_at, _ticket.c.finished_at, literal(0).label("recency"))
            .where(_ticket.c.category_id == _category.c.id, *finished)
            .order_by(_ticket.c.finished_at.desc())
            .limit(sample),
            select(_stop.c.started_at, _stop.c.finished_at, literal(0))
            .where(_stop.c.category_id == _category.c.id, _stop.c.started_at.is_not(None))
            .order_by(_stop.c.finished_at.desc())
            .limit(sample),
        ).lateral("latest")
        recent = (
            select(
                literal(1),
                _category.c.id,
                no_text,
                no_text,
                no_text,
                no_number,
                no_number,
                no_number,
                no_number,
                no_number,
                latest.c.started_at,
                latest.c.finished_at,
                latest.c.recency,
            )
            .select_from(_category.join(latest, true()))
            .where(*chosen)
        )
        return union_all(categories, recent)
    # SQLite (no LATERAL): rank the categories' finished tickets, through ix_ticket_done.
    # Finished tickets and finished stops of plans (ticket_stop).
    chosen_ids = select(_category.c.id).where(*chosen)
    both = union_all(
        select(_ticket.c.category_id, _ticket.c.started_at, _ticket.c.finished_at).where(
            _ticket.c.category_id.in_(chosen_ids), *finished
        ),
        select(_stop.c.category_id, _stop.c.started_at, _stop.c.finished_at).where(
            _stop.c.category_id.in_(chosen_ids), _stop.c.started_at.is_not(None)
        ),
    ).subquery("both")
    ranked = select(
        both.c.category_id,
        both.c.started_at,
        both.c.finished_at,
        func.row_number()
        .over(partition_by=both.c.category_id, order_by=both.c.finished_at.desc())
        .label("recency"),
    ).subquery("ranked")
    recent = select(
        literal(1),
        ranked.c.category_id,
        no_text,
        no_text,
        no_text,
        no_number,
        no_number,
        no_number,
        no_number,
        no_number,
        ranked.c.started_at,
        ranked.c.finished_at,
        ranked.c.recency,
    ).where(ranked.c.recency <= bindparam("sample", type_=Integer()))
    return union_all(categories, recent)


async def queue_figures(
    session: AsyncSession,
    office_id: str,
    business_day: date,
    *,
    sample: int,
    only: set[str] | None = None,
    ahead_of: Ticket | None = None,
) -> list[QueueFigures]:
    """Per active category of the office (or of ``only``), by prefix: the waiting count, the
    active counters serving it and its last ``sample`` service times, in one statement.
    With ``ahead_of``, also how many of its category's waiting tickets come before it."""
    params: dict[str, Any] = {"office_id": office_id, "day": business_day, "sample": sample}
    if only is not None:
        params["only"] = sorted(only)
    if ahead_of is not None:
        params |= _ahead_params(ahead_of)
    statement = figures_statement(
        only is not None,
        None if ahead_of is None else ahead_of.is_priority,
        dialect_name(session),
    )
    rows = (await session.execute(statement, params)).all()
    return figures_of([(*row[:-1],) for row in rows], sample)


def figures_params(
    office_id: str, business_day: date, sample: int, ahead_of: Ticket | None = None
) -> dict[str, Any]:
    """``figures_statement``'s parameters (every active category of the office)."""
    params: dict[str, Any] = {"office_id": office_id, "day": business_day, "sample": sample}
    if ahead_of is not None:
        params |= _ahead_params(ahead_of)
    return params


def figures_of(rows: Any, sample: int) -> list[QueueFigures]:
    """``queue_figures`` from the rows of ``figures_statement`` (its last column left out)."""
    figures: dict[str, QueueFigures] = {}
    times: list[tuple[str, datetime, float]] = []
    for kind, category_id, *row, started, finished in rows:
        if kind == 0:
            prefix, name_ja, name_en, default_s, waiting, counters, open_, ahead = row
            figures[category_id] = QueueFigures(
                category_id,
                prefix,
                name_ja,
                name_en,
                default_s,
                waiting=int(waiting),
                counters=int(counters),
                counters_open=int(open_),
                ahead=int(ahead),
            )
        elif finished is not None:
            times.append((category_id, finished, (finished - started).total_seconds()))
    # Newest first per category, ``sample`` of them (tickets and stops of plans together).
    for category_id, _finished, seconds in sorted(times, key=lambda t: (t[0], -t[1].timestamp())):
        kept = figures[category_id].recent_service_s
        if len(kept) < sample:
            kept.append(seconds)
    return sorted(figures.values(), key=lambda f: f.prefix)


async def get_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id)
