"""Vendor batch SQL: eligible entry work, frozen items read in seq ranges, leases, returns."""

import json
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import TaskKind, TaskStatus
from app.domain.batches import BatchState
from app.storage.db import dialect_name, rows_matched, table_of
from app.storage.tables import (
    ApiToken,
    Application,
    Task,
    VendorBatch,
    VendorBatchItem,
    VendorContract,
    VendorHoldback,
)

CENTRAL = "central"
# Tasks sealed into a batch sit in this queue, which no internal claim reads.
BATCH_QUEUE = "batch"


async def add_contract(session: AsyncSession, contract: VendorContract) -> None:
    """Insert a new contract (its id is set by then)."""
    session.add(contract)
    await session.flush()


async def add_batch(session: AsyncSession, batch: VendorBatch) -> None:
    """Insert a new batch before its items."""
    session.add(batch)
    await session.flush()


async def verification_to_city(session: AsyncSession, application_id: str) -> None:
    """The application's open verify and settle tasks become city staff's alone."""
    await session.execute(
        update(Task)
        .where(
            col(Task.application_id) == application_id,
            col(Task.status) == TaskStatus.OPEN,
            col(Task.kind).in_([TaskKind.VERIFY, TaskKind.SETTLE]),
        )
        .values(city_only=True)
    )


async def find_contract(
    session: AsyncSession, contract_id: str, municipality_code: str, *, lock: bool = False
) -> VendorContract | None:
    statement = select(VendorContract).where(
        col(VendorContract.id) == contract_id,
        col(VendorContract.municipality_code) == municipality_code,
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def list_contracts(
    session: AsyncSession, municipality_code: str | None = None
) -> list[VendorContract]:
    statement = select(VendorContract).order_by(
        col(VendorContract.created_at), col(VendorContract.id)
    )
    if municipality_code is not None:
        statement = statement.where(col(VendorContract.municipality_code) == municipality_code)
    return list((await session.execute(statement)).scalars())


async def token_contract(session: AsyncSession, token_id: str) -> str | None:
    return (
        await session.execute(select(col(ApiToken.contract_id)).where(col(ApiToken.id) == token_id))
    ).scalar()


Entry = tuple[str, int, str, str | None, str | None, str | None, date | None, str | None]


def json_document(text: str | None) -> Any:
    """A stored JSON document, decoded with orjson (the standard library's reading when orjson
    refuses one, such as a NaN written by SQLite's JSON type)."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


async def eligible_entries(
    session: AsyncSession,
    *,
    municipality_code: str,
    contract_id: str,
    procedure: str,
    after: tuple[int, str] | None,
    limit: int,
) -> list[Entry]:
    """The next open entry tasks of the central queue, most urgent first, with their forms:
    (task id, urgency, application id, values, applicant, ocr, due date, row locator).

    Protected persons (支援措置) are never candidates. On PostgreSQL the tasks are locked with
    SKIP LOCKED, so an operator's claim and a sealing never take the same task. The forms are
    read as text, for the caller to decode with ``json_document`` (orjson: a fifth of the time
    of the JSON type's decoder) while the previous chunk is being stored. The row locator is
    the locked task row's ``ctid`` on PostgreSQL (``freeze`` moves the tasks by it), else None.
    """
    conditions: list[ColumnElement[bool]] = [
        col(Task.municipality_code) == municipality_code,
        col(Task.kind) == TaskKind.ENTRY,
        col(Task.status) == TaskStatus.OPEN,
        col(Task.queue) == CENTRAL,
        col(Task.procedure) == procedure,
        col(Task.city_only).is_(False),
        col(Application.is_protected).is_(False),
        ~exists().where(
            col(VendorHoldback.contract_id) == contract_id,
            col(VendorHoldback.task_id) == col(Task.id),
        ),
    ]
    postgres = dialect_name(session) == "postgresql"
    if after is not None:
        conditions.append(tuple_(col(Task.urgency), col(Task.id)) > tuple_(*after))
    statement = (
        select(
            col(Task.id),
            col(Task.urgency),
            col(Application.id),
            cast(col(Application.values), Text),
            cast(col(Application.applicant), Text),
            cast(col(Application.ocr), Text),
            col(Application.due_on),
            literal_column("task.ctid::text" if postgres else "NULL", String()),
        )
        .join(Application, col(Application.id) == col(Task.application_id))
        .where(*conditions)
        .order_by(col(Task.urgency), col(Task.id))
        .limit(limit)
        .with_for_update(of=Task, skip_locked=True)
    )
    return [
        (task_id, urgency, application_id, values, applicant, ocr, due_on, locator)
        for task_id, urgency, application_id, values, applicant, ocr, due_on, locator in (
            await session.execute(statement)
        ).all()
    ]


_ITEM_COLUMNS = ("batch_id", "seq", "municipality_code", "task_id", "application_id", "payload")


async def freeze(
    session: AsyncSession, rows: list[dict[str, Any]], locators: list[str | None]
) -> int:
    """Store a chunk of frozen items (all of one batch) and take their tasks out of the internal
    queue; how many tasks moved.

    On PostgreSQL one statement, whatever the chunk size: the items inserted from arrays and
    the tasks updated in the same round trip, found by the ``ctid`` that ``eligible_entries``
    read and locked, in a TID scan. Named by id, and by ctid too unless sequential scans are
    put off for the statement, they were found by a scan of the whole task table for every
    chunk: the cost model prices a thousand lookups above reading 100,000 rows from memory.
    A locked row keeps its ``ctid`` until this transaction changes it; the ids the update
    returns are checked against the chunk's all the same (another task: an error, the seal
    is rolled back; one missing: moved by id, ``move_to_batch``, as are all of them when a
    locator is missing).
    """
    if not rows:
        return 0
    batch_id = rows[0]["batch_id"]
    task_ids = [row["task_id"] for row in rows]
    if dialect_name(session) != "postgresql":
        await session.execute(insert(table_of(VendorBatchItem)), rows)
        return await move_to_batch(session, batch_id, task_ids)
    connection = await session.connection()
    by_locator = None not in locators
    if by_locator:  # the planner prices a thousand TID fetches above a scan of every task
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    result = await connection.exec_driver_sql(
        "WITH frozen AS (INSERT INTO vendor_batch_item"
        " (batch_id, seq, municipality_code, task_id, application_id, payload)"
        " SELECT * FROM unnest($1::varchar[], $2::int[], $3::varchar[], $4::varchar[],"
        " $5::varchar[], $6::text[]))"
        " UPDATE task SET queue = $7, batch_id = $8"
        + (
            " WHERE ctid = ANY($9::text[]::tid[]) RETURNING id"
            if by_locator
            else " WHERE id = ANY($4::varchar[])"
        ),
        (
            *([row[c] for row in rows] for c in _ITEM_COLUMNS),
            BATCH_QUEUE,
            batch_id,
            *((locators,) if by_locator else ()),
        ),
    )
    if not by_locator:
        return rows_matched(result)
    moved = {task_id for (task_id,) in result.all()}
    # Put back for what follows (after a failed statement, the rollback puts it back).
    await connection.exec_driver_sql("SET LOCAL enable_seqscan TO DEFAULT")
    if not moved.issubset(task_ids):  # a locked row never moves: the seal is rolled back
        raise RuntimeError("a sealed task's row was not where it was read")
    missing = [task_id for task_id in task_ids if task_id not in moved]
    return len(moved) + (await move_to_batch(session, batch_id, missing) if missing else 0)


async def add_holdbacks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(table_of(VendorHoldback)), rows)


async def move_to_batch(session: AsyncSession, batch_id: str, task_ids: list[str]) -> int:
    """Take these tasks, just sealed into the batch, out of the internal queue.

    They stay open: the vendor's result finishes them. ``eligible_entries`` read them open in
    the central queue and locked them in this transaction (FOR UPDATE on PostgreSQL, the write
    lock on SQLite), so they are named by id alone: one primary-key lookup each (on PostgreSQL
    one array parameter, one statement whatever the chunk size). A condition on their status
    was planned, on a task table without statistics yet, as a scan of every open task per
    chunk; a subquery over the batch's items likewise.
    """
    statement = update(Task)
    if dialect_name(session) == "postgresql":
        ids = bindparam("task_ids", task_ids, type_=ARRAY(String))
        statement = statement.where(col(Task.id) == any_(ids))
    else:
        statement = statement.where(col(Task.id).in_(task_ids))
    result = await session.execute(
        statement.values(queue=BATCH_QUEUE, batch_id=batch_id).execution_options(
            synchronize_session=False
        )
    )
    return rows_matched(result)


async def return_unanswered(session: AsyncSession, batch_id: str) -> int:
    """Give the batch's unanswered tasks back to the internal queue; how many went back."""
    result = await session.execute(
        update(Task)
        .where(
            col(Task.id).in_(
                select(col(VendorBatchItem.task_id)).where(
                    col(VendorBatchItem.batch_id) == batch_id
                )
            ),
            col(Task.batch_id) == batch_id,
            col(Task.queue) == BATCH_QUEUE,
            col(Task.status) == TaskStatus.OPEN,
        )
        .values(queue=CENTRAL, batch_id=None)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)


async def payloads_after(
    session: AsyncSession, batch_id: str, after_seq: int, limit: int
) -> list[tuple[int, str]]:
    """(seq, frozen JSON line) of the items ``after_seq < seq <= after_seq + limit``, in
    sealing order. A batch's seqs run 1, 2, … item_count without gaps, so this is the next
    page; bounded on both sides, it reads only the page whatever the plan (a LIMIT over a
    batch without statistics yet was planned as a sort of every later item, page after page).
    """
    rows = await session.execute(
        select(col(VendorBatchItem.seq), col(VendorBatchItem.payload))
        .where(
            col(VendorBatchItem.batch_id) == batch_id,
            col(VendorBatchItem.seq) > after_seq,
            col(VendorBatchItem.seq) <= after_seq + limit,
        )
        .order_by(col(VendorBatchItem.seq))
    )
    return [(seq, payload) for seq, payload in rows.all()]


async def find_batch(
    session: AsyncSession,
    batch_id: str,
    municipality_code: str,
    *,
    contract_id: str | None = None,
    lock: bool = False,
) -> VendorBatch | None:
    statement = select(VendorBatch).where(
        col(VendorBatch.id) == batch_id, col(VendorBatch.municipality_code) == municipality_code
    )
    if contract_id is not None:
        statement = statement.where(col(VendorBatch.contract_id) == contract_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def list_batches(
    session: AsyncSession,
    *,
    municipality_code: str,
    contract_id: str | None,
    states: list[BatchState] | None,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[VendorBatch]:
    """Batches oldest first; a leased batch whose lease ran out counts as ready."""
    conditions: list[ColumnElement[bool]] = [
        col(VendorBatch.municipality_code) == municipality_code
    ]
    if contract_id is not None:
        conditions.append(col(VendorBatch.contract_id) == contract_id)
    if states is not None:
        live = col(VendorBatch.lease_expires_at) > now
        wanted: list[ColumnElement[bool]] = [
            col(VendorBatch.state).in_([s for s in states if s is not BatchState.LEASED])
        ]
        if BatchState.LEASED in states:
            wanted.append(and_(col(VendorBatch.state) == BatchState.LEASED, live))
        if BatchState.READY in states:
            wanted.append(and_(col(VendorBatch.state) == BatchState.LEASED, ~live))
        conditions.append(or_(*wanted))
    if after is not None:
        sealed_at, batch_id = after
        conditions.append(
            or_(
                col(VendorBatch.sealed_at) > sealed_at,
                and_(col(VendorBatch.sealed_at) == sealed_at, col(VendorBatch.id) > batch_id),
            )
        )
    rows = await session.execute(
        select(VendorBatch)
        .where(*conditions)
        .order_by(col(VendorBatch.sealed_at), col(VendorBatch.id))
        .limit(limit)
    )
    return list(rows.scalars())


async def find_item(session: AsyncSession, batch_id: str, task_id: str) -> VendorBatchItem | None:
    return (
        (
            await session.execute(
                select(VendorBatchItem).where(
                    col(VendorBatchItem.batch_id) == batch_id,
                    col(VendorBatchItem.task_id) == task_id,
                )
            )
        )
        .scalars()
        .first()
    )


async def list_holdbacks(
    session: AsyncSession, contract_id: str, limit: int
) -> list[VendorHoldback]:
    """Work held back from this contract that still waits in the internal queue."""
    rows = await session.execute(
        select(VendorHoldback)
        .join(Task, col(Task.id) == col(VendorHoldback.task_id))
        .where(col(VendorHoldback.contract_id) == contract_id, col(Task.status) == TaskStatus.OPEN)
        .order_by(col(VendorHoldback.created_at), col(VendorHoldback.task_id))
        .limit(limit)
    )
    return list(rows.scalars())
