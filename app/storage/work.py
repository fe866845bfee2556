"""Work-queue SQL: the atomic claim, household locks, and queue statistics."""

from datetime import datetime

from sqlalchemy import and_, delete, exists, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.applications import TaskStatus
from app.storage.tables import READY_PREDICATE, HouseholdLock, Task, TaskExclusion


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
    conditions = [
        Task.municipality_code == municipality_code,
        text(f"task.{READY_PREDICATE}"),
        Task.kind.in_(kinds),  # type: ignore[attr-defined]
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
    candidate = (
        select(Task.id)
        .where(*conditions)
        .order_by(Task.urgency, Task.created_at, Task.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Task)
        .where(Task.id == candidate)
        .values(
            status=TaskStatus.LEASED,
            lease_token=lease_token,
            lease_expires_at=expires_at,
            holder_id=holder_id,
        )
        .returning(Task)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).scalars().first()


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
