"""A submit's SQL: the task and its application locked and read as plain rows, and a keyed
step's writes (the task done, the application, the next task with its four-eyes exclusions,
the ticket's progress, the household let go) in one statement on PostgreSQL.

The rows are read without the ORM session: building, tracking and flushing session objects
cost more Python than the rest of a submit. What a keyed step changes is found by comparing
each column with what was read (a new value is a new object, as the ORM also sees it), and
only those columns are written.
"""

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.domain.applications import TaskStatus
from app.storage.db import CteStatement, as_loaded, dialect_name, table_of
from app.storage.tables import Application, Task, TaskExclusion, Ticket
from app.storage.uow import UnitOfWork
from app.storage.work import free_household

TASK = table_of(Task)
APPLICATION = table_of(Application)
EXCLUSION = table_of(TaskExclusion)
TICKET = table_of(Ticket)
TASK_COLUMNS = tuple(TASK.c.keys())
APPLICATION_COLUMNS = tuple(APPLICATION.c.keys())

_LOCK = (
    select(TASK, APPLICATION)
    .join(APPLICATION, APPLICATION.c.id == TASK.c.application_id)
    .where(TASK.c.id == bindparam("task_id"), TASK.c.municipality_code == bindparam("mc"))
    .with_for_update()
)


async def lock_for_submit(
    session: AsyncSession, task_id: str, municipality_code: str
) -> tuple[Task, Application] | None:
    """Lock a task and its application, in one statement; both come back outside the session
    (``attach`` puts them in it, for a step that goes through the ORM)."""
    row = (await session.execute(_LOCK, {"task_id": task_id, "mc": municipality_code})).first()
    if row is None:
        return None
    width = len(TASK_COLUMNS)
    task = as_loaded(Task, dict(zip(TASK_COLUMNS, row[:width], strict=True)))
    application = as_loaded(Application, dict(zip(APPLICATION_COLUMNS, row[width:], strict=True)))
    return task, application


def attach(session: AsyncSession, *rows: Task | Application) -> None:
    """Make rows read by ``lock_for_submit`` the session's, as if it had loaded them (no SQL):
    later changes to them are flushed as usual."""
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)


def snapshot(row: Task | Application) -> dict[str, Any]:
    """The row's column values now, to find later what a step changed."""
    columns = TASK_COLUMNS if isinstance(row, Task) else APPLICATION_COLUMNS
    return {c: getattr(row, c) for c in columns}


def changed(row: Task | Application, before: dict[str, Any]) -> tuple[str, ...]:
    """The columns given a new value since ``before`` (an object, as the ORM sees changes)."""
    return tuple(c for c, value in before.items() if getattr(row, c) is not value)


def _set(columns: tuple[str, ...], prefix: str) -> str:
    return ", ".join(f'"{c}" = :{prefix}{c}' for c in columns)


_EXCLUDED_ARRAY = ARRAY(String())


@functools.lru_cache(maxsize=64)
def _keyed_statement(task_columns: tuple[str, ...], app_columns: tuple[str, ...]) -> CteStatement:
    """PostgreSQL: a keyed step's writes as WITH queries of one statement. They all see the
    same snapshot, so the household's release skips the finished task by its id (it still reads
    as leased there); the exclusions' rows refer to the task inserted beside them, which the
    foreign key checks at the end of the statement."""
    ctes = [
        f"done AS (UPDATE task SET {_set(task_columns, 'd_')} WHERE id = :d_id)",
        "next_task AS (INSERT INTO task ("
        + ", ".join(f'"{c}"' for c in TASK_COLUMNS)
        + ") VALUES ("
        + ", ".join(f":n_{c}" for c in TASK_COLUMNS)
        + "))",
        "excluded AS (INSERT INTO task_exclusion (task_id, token_id, municipality_code) "
        "SELECT :n_id, unnest(CAST(:x_tokens AS VARCHAR[])), :n_municipality_code)",
        "progress AS (UPDATE ticket SET progress = :t_progress WHERE id = :t_id)",
    ]
    if app_columns:
        ctes.insert(
            1, f"app AS (UPDATE application SET {_set(app_columns, 'a_')} WHERE id = :a_id)"
        )
    binds = [bindparam("d_" + c, type_=TASK.c[c].type) for c in task_columns]
    binds += [bindparam("a_" + c, type_=APPLICATION.c[c].type) for c in app_columns]
    binds += [bindparam("n_" + c, type_=TASK.c[c].type) for c in TASK_COLUMNS]
    binds += [bindparam("x_tokens", type_=_EXCLUDED_ARRAY), bindparam("t_progress")]
    return CteStatement(
        ctes=tuple(ctes),
        final="DELETE FROM household_lock WHERE municipality_code = :h_mc "
        "AND household_key = :h_key AND holder_id = :h_holder AND NOT EXISTS ("
        "SELECT 1 FROM task WHERE municipality_code = :h_mc AND household_key = :h_key "
        f"AND holder_id = :h_holder AND status = '{TaskStatus.LEASED.value}' "
        "AND lease_expires_at > :h_now AND id <> :d_id)",
        binds=(*binds, bindparam("h_now", type_=TASK.c.lease_expires_at.type)),
    )


async def store_keyed(
    uow: UnitOfWork,
    *,
    task: Task,
    task_before: dict[str, Any],
    application: Application,
    application_before: dict[str, Any],
    next_task: Task,
    excluded: list[str],
    progress: str | None,
    holder_id: str,
    now: datetime,
) -> None:
    """Write a keyed step: ``task`` and ``application`` as changed since read, the next task
    and who may not take it, the ticket's progress when given, and the holder's household let
    go unless they lease another of its tasks. PostgreSQL: one statement, which also carries
    the command's log rows so far; SQLite: one statement each."""
    task_columns = changed(task, task_before)
    app_columns = changed(application, application_before)
    new_row = next_task.model_dump()
    tokens = list(dict.fromkeys(excluded))
    ticket_id = application.ticket_id if progress is not None else None
    if dialect_name(uow.session) == "postgresql":
        params: dict[str, Any] = {"d_" + c: getattr(task, c) for c in task_columns}
        params |= {"a_" + c: getattr(application, c) for c in app_columns}
        params |= {"n_" + c: v for c, v in new_row.items()}
        params |= {
            "d_id": task.id,
            "a_id": application.id,
            "x_tokens": tokens,
            "t_progress": progress,
            "t_id": ticket_id,
            "h_mc": task.municipality_code,
            "h_key": task.household_key,
            "h_holder": holder_id,
            "h_now": now,
        }
        await uow.execute_carrying_logs(_keyed_statement(task_columns, app_columns), params)
        return
    session = uow.session
    if task_columns:
        await session.execute(
            update(TASK)
            .where(TASK.c.id == task.id)
            .values({c: getattr(task, c) for c in task_columns})
        )
    if app_columns:
        await session.execute(
            update(APPLICATION)
            .where(APPLICATION.c.id == application.id)
            .values({c: getattr(application, c) for c in app_columns})
        )
    await session.execute(insert(TASK), new_row)
    if tokens:
        await session.execute(
            insert(EXCLUSION),
            [
                {
                    "task_id": next_task.id,
                    "token_id": t,
                    "municipality_code": task.municipality_code,
                }
                for t in tokens
            ],
        )
    if ticket_id is not None:
        await session.execute(
            update(TICKET).where(TICKET.c.id == ticket_id).values(progress=progress)
        )
    await free_household(
        session,
        municipality_code=task.municipality_code,
        household_key=task.household_key,
        holder_id=holder_id,
        now=now,
    )
