"""Work-queue SQL: the atomic claim, household locks, and queue statistics."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, and_, delete, exists, literal, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.applications import TaskKind, TaskStatus
from app.storage.tables import READY_PREDICATE, Application, HouseholdLock, Task, TaskExclusion


def _kind_is(kinds: list[str]) -> Any:
    """One kind is written inline, so that a reviewer's claim can use ix_task_review_ready."""
    if len(kinds) == 1:
        return Task.kind == literal_column(f"'{TaskKind(kinds[0]).value}'")
    return Task.kind.in_(kinds)  # type: ignore[attr-defined]


def _claim_conditions(
    *, municipality_code: str, holder_id: str, kinds: list[str], queues: list[str],
    procedures: list[str] | None, city_staff: bool, now: datetime, skip: list[str],
) -> list[Any]:
    """What a claimer may take: open or lapsed, theirs to do, household free, not skipped."""
    conditions = [
        Task.municipality_code == municipality_code,
        text(f"task.{READY_PREDICATE}"),
        _kind_is(kinds),
        Task.queue.in_(queues),  # type: ignore[attr-defined]
        or_(
            Task.status == TaskStatus.OPEN,
            and_(Task.status == TaskStatus.LEASED, Task.lease_expires_at < now),  # type: ignore[operator]
        ),
        ~exists().where(TaskExclusion.task_id == Task.id, TaskExclusion.token_id == holder_id),
        ~exists().where(
            HouseholdLock.municipality_code == Task.municipality_code,
            HouseholdLock.household_key == Task.household_key,
            HouseholdLock.holder_id != holder_id,
            HouseholdLock.expires_at > now,  # type: ignore[operator]
        ),
    ]
    if not city_staff:
        conditions.append(Task.city_only.is_(False))  # type: ignore[attr-defined]
    if procedures is not None:
        conditions.append(Task.procedure.in_(procedures))  # type: ignore[attr-defined]
    if skip:
        conditions.append(Task.id.not_in(skip))  # type: ignore[attr-defined]
    return conditions


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
) -> Task | None:
    """Lease the most urgent task this holder may take, in one statement.

    On PostgreSQL the candidate is locked with SKIP LOCKED, so concurrent claimers never wait
    for each other or get the same task; on SQLite the write lock taken by BEGIN IMMEDIATE
    makes the same UPDATE … RETURNING atomic.
    """
    conditions = _claim_conditions(municipality_code=municipality_code, holder_id=holder_id, kinds=kinds,
                                   queues=queues, procedures=procedures, city_staff=city_staff, now=now,
                                   skip=skip)
    candidate = (
        select(Task.id)
        .where(*conditions)
        .order_by(Task.urgency, Task.created_at, Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    lease = {"status": TaskStatus.LEASED, "lease_token": lease_token, "lease_expires_at": expires_at,
             "holder_id": holder_id}
    statement = (
        update(Task)
        .where(Task.id == candidate.scalar_subquery())
        .values(**lease)
        .returning(Task)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).scalars().first()


@dataclass(frozen=True)
class PgClaim:
    task: Task
    application: Application
    household_held: bool


async def claim_task_with_household(
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
) -> PgClaim | None:
    """PostgreSQL: lease the task, hold its household and read its application in one statement.

    ``claim_task`` and ``take_household`` as data-modifying CTEs: one round trip instead of
    three. When the household was taken by someone else in between, ``household_held`` is
    False and the caller puts the task back (``unclaim``), as on SQLite.
    """
    conditions = _claim_conditions(municipality_code=municipality_code, holder_id=holder_id, kinds=kinds,
                                   queues=queues, procedures=procedures, city_staff=city_staff, now=now,
                                   skip=skip)
    candidate = (
        select(Task.id)
        .where(*conditions)
        .order_by(Task.urgency, Task.created_at, Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .cte("candidate")
    )
    task_table = Task.__table__
    claimed = (
        update(task_table)
        .where(task_table.c.id == candidate.c.id)
        .values(status=TaskStatus.LEASED, lease_token=lease_token, lease_expires_at=expires_at,
                holder_id=holder_id)
        .returning(*task_table.c)
        .cte("claimed")
    )
    lock_table = HouseholdLock.__table__
    upsert = postgresql.insert(lock_table).from_select(
        ["municipality_code", "household_key", "holder_id", "expires_at"],
        select(claimed.c.municipality_code, claimed.c.household_key,
               literal(holder_id, String), literal(expires_at, DateTime(timezone=True))),
    )
    held = upsert.on_conflict_do_update(
        index_elements=["municipality_code", "household_key"],
        set_={"holder_id": upsert.excluded.holder_id, "expires_at": upsert.excluded.expires_at},
        where=or_(lock_table.c.holder_id == holder_id, lock_table.c.holder_id.is_(None),
                  lock_table.c.expires_at < now),
    ).returning(lock_table.c.household_key).cte("held")
    application_table = Application.__table__
    statement = select(
        claimed, application_table, exists(select(held.c.household_key)).label("household_held")
    ).join(application_table, application_table.c.id == claimed.c.application_id)
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    width = len(task_table.c)
    task = Task.model_validate(dict(zip(task_table.c.keys(), row[:width], strict=True)))
    application = Application.model_validate(
        dict(zip(application_table.c.keys(), row[width:width + len(application_table.c)], strict=True))
    )
    return PgClaim(task, application, bool(row[-1]))


async def take_household(
    session: AsyncSession, *, municipality_code: str, household_key: str, holder_id: str,
    now: datetime, expires_at: datetime,
) -> bool:
    """Hold the household for ``holder_id`` unless someone else holds it; True when held."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(HouseholdLock).values(
        municipality_code=municipality_code, household_key=household_key,
        holder_id=holder_id, expires_at=expires_at,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["municipality_code", "household_key"],
        set_={"holder_id": holder_id, "expires_at": expires_at},
        where=or_(
            HouseholdLock.holder_id == holder_id,
            HouseholdLock.holder_id.is_(None),  # type: ignore[union-attr]
            HouseholdLock.expires_at < now,  # type: ignore[operator]
        ),
    ).returning(HouseholdLock.holder_id)
    return (await session.execute(statement)).first() is not None


async def extend_household(
    session: AsyncSession, *, municipality_code: str, household_key: str, holder_id: str, expires_at: datetime
) -> None:
    await session.execute(
        update(HouseholdLock)
        .where(HouseholdLock.municipality_code == municipality_code,
               HouseholdLock.household_key == household_key,
               HouseholdLock.holder_id == holder_id)
        .values(expires_at=expires_at)
    )


async def free_household(
    session: AsyncSession, *, municipality_code: str, household_key: str, holder_id: str, now: datetime
) -> None:
    """Let the household go unless the holder still leases another of its tasks (one statement)."""
    still_held = exists().where(
        Task.municipality_code == municipality_code,
        Task.household_key == household_key,
        Task.holder_id == holder_id,
        Task.status == TaskStatus.LEASED,
        Task.lease_expires_at > now,  # type: ignore[operator]
    )
    await session.execute(
        delete(HouseholdLock).where(
            HouseholdLock.municipality_code == municipality_code,
            HouseholdLock.household_key == household_key,
            HouseholdLock.holder_id == holder_id,
            ~still_held,
        )
    )


async def lock_task_and_application(
    session: AsyncSession, task_id: str, municipality_code: str
) -> tuple[Task, Application] | None:
    """Lock a task and its application for a submit, in one statement."""
    row = (await session.execute(
        select(Task, Application)
        .join(Application, Application.id == Task.application_id)  # type: ignore[arg-type]
        .where(Task.id == task_id, Task.municipality_code == municipality_code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )).first()
    return (row[0], row[1]) if row else None


async def lock_task(session: AsyncSession, task_id: str, municipality_code: str) -> Task | None:
    return (await session.execute(
        select(Task).where(Task.id == task_id, Task.municipality_code == municipality_code).with_for_update()
    )).scalars().first()


async def unclaim(session: AsyncSession, task_id: str) -> None:
    """Undo a claim made in this transaction (its household was taken in between)."""
    await session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(status=TaskStatus.OPEN, lease_token=None, lease_expires_at=None, holder_id=None)
        .execution_options(synchronize_session=False)
    )
