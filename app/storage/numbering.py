"""A ticket's number: what a kiosk press reads first (with the lobby seq and the day's
sequence), and the new ticket with its lobby event."""

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.db import CteStatement, dialect_name, table_of
from app.storage.lobby import EVENT_INSERT_NOTIFY, insert_event, notify_params, seq_for_change
from app.storage.tables import Office, Ticket, TicketCategory, TicketSequence
from app.storage.uow import UnitOfWork

_ticket = table_of(Ticket)


_OFFICE_AND_CATEGORY = (
    select(Office, TicketCategory)
    .outerjoin(
        TicketCategory,
        and_(
            col(TicketCategory.id) == bindparam("category_id"),
            col(TicketCategory.office_id) == col(Office.id),
        ),
    )
    .where(
        col(Office.id) == bindparam("office_id"),
        col(Office.municipality_code) == bindparam("municipality_code"),
    )
)


async def find_office_and_category(
    session: AsyncSession, office_id: str, category_id: str, municipality_code: str
) -> tuple[Office, TicketCategory | None] | None:
    """The office (None if another municipality's) and the category, if it is one of the
    office's."""
    row = (
        await session.execute(
            _OFFICE_AND_CATEGORY,
            {
                "office_id": office_id,
                "category_id": category_id,
                "municipality_code": municipality_code,
            },
        )
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True, slots=True)
class OfficeCategory:
    """What a kiosk press needs to know before the ticket exists; once the category is known
    to be the office's and active, also the office's lobby seq and the number's sequence."""

    office_id: str
    municipality_code: str
    category_id: str | None
    prefix: str | None
    category_active: bool
    seq: int | None = None
    sequence: int | None = None


# PostgreSQL, one round trip: the office and the category as plain columns (no ORM objects to
# build) and, when the category is the office's and active, the office's next lobby seq and the
# category's next number of the day. The seq's UPDATE runs first (the number's upsert reads its
# row), so the channel row is locked before the number's row; only this statement ever locks a
# number's row, and every lobby change takes the channel's, so no two commands take the two in
# opposite orders. Both stay locked until commit. What the press reads next is read after the
# channel row was locked: every earlier lobby change of the office has committed and is seen.
# The connection plans every statement afresh (create_engine: tables that grow in bulk must not
# keep a plan made when they were empty); the rest of a kiosk press, the lobby's hottest
# command, may use the plans PostgreSQL keeps per connection: its statements read small
# per-office sets through indexes made for them, and planning them cost a third of PostgreSQL's
# work per press.
_OPEN_ISSUE_PG = text(
    """
    WITH found AS (
        SELECT o.id AS office_id, o.municipality_code, c.id AS category_id, c.prefix,
               coalesce(c.is_active, false) AS active,
               set_config('plan_cache_mode', 'auto', true) AS plans
        FROM office o
        LEFT JOIN ticket_category c ON c.id = :category_id AND c.office_id = o.id
        WHERE o.id = :office_id AND o.municipality_code = :municipality_code
    ),
    taken AS (
        UPDATE lobby_channel SET seq = seq + 1, updated_at = :at
        WHERE office_id = (SELECT office_id FROM found WHERE active)
        RETURNING seq
    ),
    drawn AS (
        INSERT INTO ticket_sequence (category_id, business_day, municipality_code, last_value)
        SELECT found.category_id, :day, found.municipality_code, 1 FROM found, taken
        WHERE found.active
        ON CONFLICT (category_id, business_day)
        DO UPDATE SET last_value = ticket_sequence.last_value + 1
        RETURNING last_value
    )
    SELECT found.office_id, found.municipality_code, found.category_id, found.prefix,
           found.active, (SELECT seq FROM taken), (SELECT last_value FROM drawn), found.plans
    FROM found
    """
).bindparams(
    bindparam("at", type_=_ticket.c.issued_at.type),
    bindparam("day", type_=_ticket.c.business_day.type),
)


async def open_issue(
    uow: UnitOfWork,
    *,
    office_id: str,
    category_id: str,
    municipality_code: str,
    at: datetime,
    day: date,
) -> OfficeCategory | None:
    """The office (None if unknown or another municipality's) and the category, if the office's;
    if it is also active, the office's next lobby seq (its channel row stays locked until the
    transaction ends) and the category's next number of the day (never the same twice)."""
    params = {
        "office_id": office_id,
        "category_id": category_id,
        "municipality_code": municipality_code,
    }
    if uow.is_postgresql:
        row = (await uow.session.execute(_OPEN_ISSUE_PG, {**params, "at": at, "day": day})).first()
        return None if row is None else OfficeCategory(*row[:7])
    found = await find_office_and_category(uow.session, office_id, category_id, municipality_code)
    if found is None:
        return None
    office, category = found
    if category is None:
        return OfficeCategory(office.id, office.municipality_code, None, None, False)
    if not category.is_active:
        return OfficeCategory(office.id, office.municipality_code, category.id, None, False)
    seq = await seq_for_change(uow, office.id, at)
    sequence = await allocate_sequence(
        uow.session,
        municipality_code=office.municipality_code,
        category_id=category.id,
        business_day=day,
    )
    return OfficeCategory(
        office.id, office.municipality_code, category.id, category.prefix, True, seq, sequence
    )


_TICKET_INSERT = insert(_ticket)
_TICKET_COLUMNS = tuple(c.name for c in _ticket.c)

# PostgreSQL, one round trip: the new ticket, the lobby event of its issue and the event's
# notification (with the command's log rows: ``UnitOfWork.execute_carrying_logs``).
ISSUE_WITH_EVENT = CteStatement(
    ctes=(
        f"new_ticket AS (INSERT INTO ticket ({', '.join(_TICKET_COLUMNS)}) "
        f"VALUES ({', '.join(':t_' + c for c in _TICKET_COLUMNS)}))",
        *EVENT_INSERT_NOTIFY.ctes,
    ),
    final=EVENT_INSERT_NOTIFY.final,
    binds=(
        *(bindparam("t_" + c.name, type_=c.type) for c in _ticket.c),
        *EVENT_INSERT_NOTIFY.binds,
    ),
)


# The model's defaults (call_count 0, …) for the columns a new ticket leaves out.
_TICKET_DEFAULTS = {
    name: Ticket.model_fields[name].get_default(call_default_factory=False)
    for name in _TICKET_COLUMNS
    if not Ticket.model_fields[name].is_required()
    and Ticket.model_fields[name].default_factory is None
}


def new_ticket(values: dict[str, Any]) -> Ticket:
    """The ticket of ``values`` (every required column), with the model's defaults for the rest.
    Every value is ours or already validated: constructing skips the model's validation, which
    costs more than inserting the row."""
    return Ticket.model_construct(**{**_TICKET_DEFAULTS, **values})


async def store_issued(uow: UnitOfWork, ticket: Ticket, event: dict[str, Any]) -> None:
    """Insert a new ticket (``new_ticket``) and the lobby event of its issue, whose seq
    ``open_issue`` took. PostgreSQL: one statement, with the event's notification and the
    command's log rows kept so far."""
    row = {name: getattr(ticket, name) for name in _TICKET_COLUMNS}
    if uow.is_postgresql:
        params = {"t_" + name: value for name, value in row.items()}
        await uow.execute_carrying_logs(ISSUE_WITH_EVENT, {**params, **notify_params(event)})
        return
    await uow.session.execute(_TICKET_INSERT, row)
    await insert_event(uow.session, event)


@functools.cache
def _sequence_upsert(dialect: str) -> Any:
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_for(TicketSequence).values(
        category_id=bindparam("category_id"),
        business_day=bindparam("business_day"),
        municipality_code=bindparam("municipality_code"),
        last_value=1,
    )
    return statement.on_conflict_do_update(
        index_elements=["category_id", "business_day"],
        set_={"last_value": TicketSequence.last_value + 1},
    ).returning(col(TicketSequence.last_value))


async def allocate_sequence(
    session: AsyncSession, *, municipality_code: str, category_id: str, business_day: date
) -> int:
    """The next number of a category's day, in one atomic statement (row-locked upsert)."""
    result = await session.execute(
        _sequence_upsert(dialect_name(session)),
        {
            "category_id": category_id,
            "business_day": business_day,
            "municipality_code": municipality_code,
        },
    )
    return int(result.scalar_one())
