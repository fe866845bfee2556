"""A ticket's number: what a kiosk press reads first, the day's sequence, and the new ticket."""

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.tickets import NUMBER_DIGITS, NUMBER_SEPARATOR, format_number
from app.storage.db import CteStatement, dialect_name, table_of
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
    """What a kiosk press needs to know before the ticket exists."""

    office_id: str
    municipality_code: str
    category_id: str | None
    prefix: str | None
    category_active: bool


# PostgreSQL: the office and the category as plain columns (no ORM objects to build). The
# connection plans every statement afresh (create_engine: tables that grow in bulk must not keep
# a plan made when they were empty); the rest of a kiosk press, the lobby's hottest command, may
# use the plans PostgreSQL keeps per connection: its statements read small per-office sets
# through indexes made for them, and planning them cost a third of PostgreSQL's work per press.
_OFFICE_CATEGORY_PG = text(
    """
    SELECT o.id, o.municipality_code, c.id, c.prefix, coalesce(c.is_active, false),
           set_config('plan_cache_mode', 'auto', true)
    FROM office o
    LEFT JOIN ticket_category c ON c.id = :category_id AND c.office_id = o.id
    WHERE o.id = :office_id AND o.municipality_code = :municipality_code
    """
)


async def office_and_category(
    session: AsyncSession, *, office_id: str, category_id: str, municipality_code: str
) -> OfficeCategory | None:
    """The office (None if unknown or another municipality's) and the category, if the office's."""
    params = {
        "office_id": office_id,
        "category_id": category_id,
        "municipality_code": municipality_code,
    }
    if dialect_name(session) == "postgresql":
        row = (await session.execute(_OFFICE_CATEGORY_PG, params)).first()
        return None if row is None else OfficeCategory(*row[:5])
    found = await find_office_and_category(session, office_id, category_id, municipality_code)
    if found is None:
        return None
    office, category = found
    if category is None:
        return OfficeCategory(office.id, office.municipality_code, None, None, False)
    return OfficeCategory(
        office.id, office.municipality_code, category.id, category.prefix, category.is_active
    )


_TICKET_INSERT = insert(_ticket)

# PostgreSQL: the office's next lobby seq, the category's next number of the day and the new
# ticket, in one round trip. It locks the office's channel row and the number's row; only this
# statement ever locks a number's row, so no two commands can take the two in opposite orders,
# and the number's lock is held no longer than the channel's, which every lobby change takes.
# The printed number is made as format_number makes it, from the same constants (tests compare
# the two past 999).
_NUMBER_SQL = (
    f":t_prefix || '{NUMBER_SEPARATOR}' || "
    f"lpad(last_value::text, greatest({NUMBER_DIGITS}, length(last_value::text)), '0')"
)
_ISSUE_COLUMNS = [c.name for c in _ticket.c if c.name not in ("sequence", "number")]
ISSUE_TAKING_SEQ = CteStatement(
    ctes=(
        "drawn AS (INSERT INTO ticket_sequence "
        "(category_id, business_day, municipality_code, last_value) "
        "VALUES (:t_category_id, :t_business_day, :t_municipality_code, 1) "
        "ON CONFLICT (category_id, business_day) "
        "DO UPDATE SET last_value = ticket_sequence.last_value + 1 "
        "RETURNING last_value)",
        f"new_ticket AS (INSERT INTO ticket ({', '.join(_ISSUE_COLUMNS)}, sequence, number) "
        f"SELECT {', '.join(':t_' + c for c in _ISSUE_COLUMNS)}, last_value, {_NUMBER_SQL} "
        "FROM drawn RETURNING sequence, number)",
    ),
    final="UPDATE lobby_channel SET seq = seq + 1, updated_at = :t_issued_at "
    "WHERE office_id = :t_office_id "
    "RETURNING seq, (SELECT sequence FROM new_ticket), (SELECT number FROM new_ticket)",
    binds=tuple(
        bindparam("t_" + c.name, type_=c.type) for c in _ticket.c if c.name in _ISSUE_COLUMNS
    ),
)


# The model's defaults (call_count 0, …) for the columns a new ticket leaves out.
_ISSUE_DEFAULTS = {
    "t_" + name: Ticket.model_fields[name].get_default(call_default_factory=False)
    for name in _ISSUE_COLUMNS
    if not Ticket.model_fields[name].is_required()
    and Ticket.model_fields[name].default_factory is None
}


def issue_params(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``ISSUE_TAKING_SEQ``'s parameters: the new ticket's columns but its number, and the
    prefix."""
    params = dict(_ISSUE_DEFAULTS)
    params.update({"t_" + key: value for key, value in values.items()})
    params["t_prefix"] = prefix
    return params


async def issue(uow: UnitOfWork, values: dict[str, Any], prefix: str) -> tuple[Ticket, int | None]:
    """Insert a new ticket with the next number of its category's day: (ticket, lobby seq).

    PostgreSQL: one statement takes the number, inserts the ticket and takes the office's
    lobby seq, with the command's log rows so far; the seq is returned and the channel row
    stays locked. SQLite: the number's upsert and the insert; the seq is None (not taken yet).
    ``values``: the new ticket's columns but its sequence and number."""
    if uow.is_postgresql:
        taken = await uow.execute_carrying_logs(ISSUE_TAKING_SEQ, issue_params(values, prefix))
        seq, sequence, number = taken.one()
        # Every value is ours or already validated: constructing skips the model's validation,
        # which costs more than inserting the row.
        return Ticket.model_construct(**values, sequence=sequence, number=number), seq
    sequence = await allocate_sequence(
        uow.session,
        municipality_code=values["municipality_code"],
        category_id=values["category_id"],
        business_day=values["business_day"],
    )
    ticket = Ticket.model_construct(
        **values, sequence=sequence, number=format_number(prefix, sequence)
    )
    await add_ticket(uow.session, ticket)
    return ticket, None


async def add_ticket(session: AsyncSession, ticket: Ticket) -> None:
    """Insert a new ticket in one statement, without tracking it in the session."""
    await session.execute(_TICKET_INSERT, ticket.model_dump())


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
