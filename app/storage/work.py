"""Work-queue SQL: the atomic claim, household locks, and queue statistics."""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import TaskKind, TaskStatus
from app.storage.db import as_loaded, dialect_name, rows_matched, table_of
from app.storage.tables import (
    READY_PREDICATE,
    ApiToken,
    Application,
    CoreFeed,
    HouseholdLock,
    Task,
    TaskExclusion,
    Ticket,
)


@dataclass(frozen=True)
class ClaimShape:
    """What decides a claim statement's text; everything else is a bound parameter."""

    postgresql: bool
    kind: str | None  # the one kind asked for, written inline (reviewers use ix_task_review_ready)
    procedures: bool
    skip: bool
    city_staff: bool


@dataclass(frozen=True)
class PgClaim:
    task: Task
    application: Application
    household_held: bool


TASK: Table = table_of(Task)
APPLICATION: Table = table_of(Application)
HOUSEHOLD: Table = table_of(HouseholdLock)
EXCLUSION: Table = table_of(TaskExclusion)


def _candidate(shape: ClaimShape) -> Select[Any]:
    """The most urgent task the claimer may take: open or lapsed, theirs to do, household free."""
    now = bindparam("p_now", type_=DateTime(timezone=True))
    holder = bindparam("p_holder_id", type_=String())
    conditions: list[Any] = [
        TASK.c.municipality_code == bindparam("p_municipality_code"),
        text(f"task.{READY_PREDICATE}"),  # repeated so that the partial index applies
        TASK.c.kind == literal_column(f"'{TaskKind(shape.kind).value}'")
        if shape.kind
        else TASK.c.kind.in_(bindparam("p_kinds", expanding=True)),
        TASK.c.queue.in_(bindparam("p_queues", expanding=True)),
        or_(
            TASK.c.status == TaskStatus.OPEN.value,
            and_(TASK.c.status == TaskStatus.LEASED.value, TASK.c.lease_expires_at < now),
        ),
        ~exists().where(EXCLUSION.c.task_id == TASK.c.id, EXCLUSION.c.token_id == holder),
        ~exists().where(
            HOUSEHOLD.c.municipality_code == TASK.c.municipality_code,
            HOUSEHOLD.c.household_key == TASK.c.household_key,
            HOUSEHOLD.c.holder_id != holder,
            HOUSEHOLD.c.expires_at > now,
        ),
    ]
    if not shape.city_staff:
        conditions.append(TASK.c.city_only.is_(False))
    if shape.procedures:
        conditions.append(TASK.c.procedure.in_(bindparam("p_procedures", expanding=True)))
    if shape.skip:
        conditions.append(TASK.c.id.not_in(bindparam("p_skip", expanding=True)))
    return (
        select(TASK.c.id)
        .where(*conditions)
        .order_by(TASK.c.urgency, TASK.c.created_at, TASK.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


LEASE: dict[str, Any] = {
    "status": TaskStatus.LEASED.value,
    "lease_token": bindparam("p_lease_token", type_=String()),
    "lease_expires_at": bindparam("p_expires_at", type_=DateTime(timezone=True)),
    "holder_id": bindparam("p_holder_id", type_=String()),
}


@functools.lru_cache(maxsize=64)
def claim_statement(shape: ClaimShape) -> Any:
    """The claim for one shape, built once: later claims reuse its compiled form.

    PostgreSQL: lease the task, hold its household and read its application in one statement
    (data-modifying CTEs), so a claim is one round trip; ``household_held`` is false when
    someone else took the household in between, and the caller puts the task back.
    SQLite: the UPDATE … RETURNING of the task alone (BEGIN IMMEDIATE makes it atomic).
    """
    if not shape.postgresql:
        return (
            update(TASK)
            .where(TASK.c.id == _candidate(shape).scalar_subquery())
            .values(**LEASE)
            .returning(*TASK.c)
        )
    candidate = _candidate(shape).cte("candidate")
    claimed = (
        update(TASK)
        .where(TASK.c.id == candidate.c.id)
        .values(**LEASE)
        .returning(*TASK.c)
        .cte("claimed")
    )
    upsert = postgresql.insert(HOUSEHOLD).from_select(
        ["municipality_code", "household_key", "holder_id", "expires_at"],
        select(
            claimed.c.municipality_code,
            claimed.c.household_key,
            LEASE["holder_id"],
            LEASE["lease_expires_at"],
        ),
    )
    held = (
        upsert.on_conflict_do_update(
            index_elements=["municipality_code", "household_key"],
            set_={"holder_id": upsert.excluded.holder_id, "expires_at": upsert.excluded.expires_at},
            where=or_(
                HOUSEHOLD.c.holder_id == LEASE["holder_id"],
                HOUSEHOLD.c.holder_id.is_(None),
                HOUSEHOLD.c.expires_at < bindparam("p_now", type_=DateTime(timezone=True)),
            ),
        )
        .returning(HOUSEHOLD.c.household_key)
        .cte("held")
    )
    return select(
        claimed, APPLICATION, exists(select(held.c.household_key)).label("household_held")
    ).join(APPLICATION, APPLICATION.c.id == claimed.c.application_id)


async def claim_task(
    session: AsyncSession,
    *,
    municipality_code: str,
    holder_id: str,
    kinds: list[str],
    queues: list[str],
    procedures: list[str] | None,
    city_staff: bool,
    lease_token: str,
    now: datetime,
    expires_at: datetime,
    skip: list[str],
) -> Task | PgClaim | None:
    """Lease the most urgent task this holder may take, in one statement.

    On PostgreSQL the candidate is locked with SKIP LOCKED, so concurrent claimers never wait
    for each other or get the same task, and the answer is a ``PgClaim`` (task, application,
    household held or not); on SQLite the write lock taken by BEGIN IMMEDIATE makes the
    UPDATE … RETURNING atomic, and the answer is the task (the caller holds the household).
    """
    pg = dialect_name(session) == "postgresql"
    shape = ClaimShape(
        postgresql=pg,
        kind=kinds[0] if len(kinds) == 1 else None,
        procedures=procedures is not None,
        skip=bool(skip),
        city_staff=city_staff,
    )
    params: dict[str, Any] = {
        "p_municipality_code": municipality_code,
        "p_holder_id": holder_id,
        "p_now": now,
        "p_queues": queues,
        "p_lease_token": lease_token,
        "p_expires_at": expires_at,
    }
    if shape.kind is None:
        params["p_kinds"] = kinds
    if shape.procedures:
        params["p_procedures"] = procedures  # an empty list matches nothing
    if shape.skip:
        params["p_skip"] = skip
    row = (await session.execute(claim_statement(shape), params)).first()
    if row is None:
        return None
    width = len(TASK.c)
    task = as_loaded(Task, dict(zip(TASK.c.keys(), row[:width], strict=True)))
    if not pg:
        return task
    application = as_loaded(
        Application,
        dict(zip(APPLICATION.c.keys(), row[width : width + len(APPLICATION.c)], strict=True)),
    )
    return PgClaim(task, application, bool(row[-1]))


async def take_household(
    session: AsyncSession,
    *,
    municipality_code: str,
    household_key: str,
    holder_id: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Hold the household for ``holder_id`` unless someone else holds it; True when held."""
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    statement = insert(HouseholdLock).values(
        municipality_code=municipality_code,
        household_key=household_key,
        holder_id=holder_id,
        expires_at=expires_at,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["municipality_code", "household_key"],
        set_={"holder_id": holder_id, "expires_at": expires_at},
        where=or_(
            col(HouseholdLock.holder_id) == holder_id,
            col(HouseholdLock.holder_id).is_(None),
            col(HouseholdLock.expires_at) < now,
        ),
    ).returning(col(HouseholdLock.holder_id))
    return (await session.execute(upsert)).first() is not None


async def extend_household(
    session: AsyncSession,
    *,
    municipality_code: str,
    household_key: str,
    holder_id: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        update(HouseholdLock)
        .where(
            col(HouseholdLock.municipality_code) == municipality_code,
            col(HouseholdLock.household_key) == household_key,
            col(HouseholdLock.holder_id) == holder_id,
        )
        .values(expires_at=expires_at)
    )


# Built once, on the tables (the ORM's delete would also search the session for rows to expire).
_FREE_HOUSEHOLD = delete(HOUSEHOLD).where(
    HOUSEHOLD.c.municipality_code == bindparam("p_municipality_code"),
    HOUSEHOLD.c.household_key == bindparam("p_household_key"),
    HOUSEHOLD.c.holder_id == bindparam("p_holder_id"),
    ~exists().where(
        TASK.c.municipality_code == bindparam("p_municipality_code"),
        TASK.c.household_key == bindparam("p_household_key"),
        TASK.c.holder_id == bindparam("p_holder_id"),
        TASK.c.status == TaskStatus.LEASED.value,
        TASK.c.lease_expires_at > bindparam("p_now", type_=DateTime(timezone=True)),
    ),
)


async def free_household(
    session: AsyncSession,
    *,
    municipality_code: str,
    household_key: str,
    holder_id: str,
    now: datetime,
) -> None:
    """Let the household go unless the holder still leases another of its tasks (one statement)."""
    await session.execute(
        _FREE_HOUSEHOLD,
        {
            "p_municipality_code": municipality_code,
            "p_household_key": household_key,
            "p_holder_id": holder_id,
            "p_now": now,
        },
    )


async def lock_task(session: AsyncSession, task_id: str, municipality_code: str) -> Task | None:
    return (
        (
            await session.execute(
                select(Task)
                .where(col(Task.id) == task_id, col(Task.municipality_code) == municipality_code)
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )


async def unclaim(session: AsyncSession, task_id: str) -> None:
    """Undo a claim made in this transaction (its household was taken in between)."""
    await session.execute(
        update(Task)
        .where(col(Task.id) == task_id)
        .values(status=TaskStatus.OPEN, lease_token=None, lease_expires_at=None, holder_id=None)
        .execution_options(synchronize_session=False)
    )


async def employer_of(session: AsyncSession, municipality_code: str, person_id: str) -> str | None:
    """The employer (city or vendor) of a person who holds or did work.

    A person is today the token they work with (Principal.person_id); a lookup of staff
    people belongs here when they have their own table.
    """
    return (
        await session.execute(
            select(col(ApiToken.employer)).where(
                col(ApiToken.id) == person_id, col(ApiToken.municipality_code) == municipality_code
            )
        )
    ).scalar_one_or_none()


async def get_application(session: AsyncSession, application_id: str) -> Application:
    """The application as stored now (a claim's statement may have changed what the session
    holds of it)."""
    application = await session.get(Application, application_id, populate_existing=True)
    assert application is not None
    return application


async def lock_application(session: AsyncSession, application_id: str) -> Application:
    """Lock an application a task of which is being finished."""
    return (
        (
            await session.execute(
                select(Application).where(col(Application.id) == application_id).with_for_update()
            )
        )
        .scalars()
        .one()
    )


async def lock_application_of(
    session: AsyncSession, application_id: str, municipality_code: str
) -> Application | None:
    """Lock the municipality's application, read afresh (for a withdrawal or a reopening)."""
    return (
        (
            await session.execute(
                select(Application)
                .where(
                    col(Application.id) == application_id,
                    col(Application.municipality_code) == municipality_code,
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .first()
    )


async def lock_unfinished_tasks(session: AsyncSession, application_id: str) -> list[Task]:
    """The application's open and leased tasks, locked."""
    return list(
        (
            await session.execute(
                select(Task)
                .where(
                    col(Task.application_id) == application_id,
                    col(Task.status).in_([TaskStatus.OPEN, TaskStatus.LEASED]),
                )
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )


async def add_task(session: AsyncSession, task: Task, excluded: list[str]) -> None:
    """A new task; the people in ``excluded`` may never claim it."""
    session.add(task)  # its id is made here, so the exclusions need no flush first
    for person_id in dict.fromkeys(excluded):
        session.add(
            TaskExclusion(
                task_id=task.id, token_id=person_id, municipality_code=task.municipality_code
            )
        )


async def set_ticket_progress(session: AsyncSession, ticket_id: str, progress: str) -> None:
    """What the resident's status page says of the application their ticket is linked to."""
    await session.execute(
        update(Ticket).where(col(Ticket.id) == ticket_id).values(progress=progress)
    )


async def next_core_seq(session: AsyncSession, municipality_code: str) -> int:
    """The next position in the core system's feed; the row lock orders approvals by commit."""
    feed = (
        (
            await session.execute(
                select(CoreFeed)
                .where(col(CoreFeed.municipality_code) == municipality_code)
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    if feed is None:
        feed = CoreFeed(municipality_code=municipality_code, last_seq=0)
        session.add(feed)
    feed.last_seq += 1
    await session.flush()
    return feed.last_seq


async def lock_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id, with_for_update=True)


async def expire_leases(session: AsyncSession, now: datetime) -> int:
    """Return tasks whose lease ran out to the queue; how many."""
    result = await session.execute(
        update(Task)
        .where(col(Task.status) == TaskStatus.LEASED, col(Task.lease_expires_at) < now)
        .values(status=TaskStatus.OPEN, lease_token=None, lease_expires_at=None, holder_id=None)
    )
    return rows_matched(result)
