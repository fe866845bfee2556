"""Intake SQL: applications by their sender's reference, and bulk inserts of new forms.

Bulk intake's rows are made ready for the driver where they are checked (the bulk worker
process: ``form_records``, pure) and written by the server with as little Python per row as the
driver allows (``insert_forms``): COPY on PostgreSQL, a plain executemany on SQLite.
"""

import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Dialect, TypeDecorator, select, text
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite as sqlite_aiosqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.audit import MAC_COLUMNS, LogName
from app.storage.db import table_of
from app.storage.tables import Application, EventLog, Task, Ticket


async def contents_by_reference(
    session: AsyncSession,
    municipality_code: str,
    sender_id: str,
    refs: list[str],
    keys: tuple[str, ...],
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_ref → (application id, its ``keys`` columns), for refs this sender already sent."""
    columns = [getattr(Application, key) for key in keys]
    rows = await session.execute(
        select(col(Application.external_ref), col(Application.id), *columns).where(
            col(Application.municipality_code) == municipality_code,
            col(Application.sender_id) == sender_id,
            col(Application.external_ref).in_(refs),
        )
    )
    return {
        row[0]: (row[1], {key: row._mapping[key] for key in keys})
        for row in rows
        if row[0] is not None
    }


async def find_by_reference(
    session: AsyncSession, municipality_code: str, sender_id: str, external_ref: str
) -> Application | None:
    return (
        (
            await session.execute(
                select(Application).where(
                    col(Application.municipality_code) == municipality_code,
                    col(Application.sender_id) == sender_id,
                    col(Application.external_ref) == external_ref,
                )
            )
        )
        .scalars()
        .first()
    )


# Bulk intake's rows as the driver takes them: one tuple per row in these columns' order.
APPLICATION_COLUMNS = (
    "id",
    "municipality_code",
    "procedure",
    "channel",
    "status",
    "received_at",
    "due_on",
    "external_ref",
    "sender_id",
    "ticket_id",
    "applicant",
    "fields",
    "ocr",
    "attachments",
    "values",
    "problems",
    "proposals",
    "household_key",
    "is_protected",
    "has_my_number",
    "urgency",
    "handled_by",
    "created_at",
    "updated_at",
)
TASK_COLUMNS = (
    "id",
    "municipality_code",
    "application_id",
    "kind",
    "status",
    "procedure",
    "household_key",
    "urgency",
    "queue",
    "city_only",
    "field_keys",
    "created_at",
)
EVENT_COLUMNS = (*MAC_COLUMNS[LogName.EVENT], "mac_key", "mac")
_TABLES = (
    (table_of(Application), APPLICATION_COLUMNS),
    (table_of(Task), TASK_COLUMNS),
    (table_of(EventLog), EVENT_COLUMNS),
)

# One new form: its application, entry task and event-log row, each as the driver takes it:
# on PostgreSQL a line of COPY text (bytes), on SQLite a tuple of values.
Record = tuple[Any, ...] | bytes
FormRecords = tuple[Record, Record, Record]
_Format = Callable[[Any], Any]


def dump_json(value: Any) -> str:
    """A JSON column's text, as the database stores it (``None`` is JSON null, as SQLAlchemy's
    JSON type writes it). orjson where it writes what ``json`` would read back the same; the
    values it does not take (a lone surrogate, an integer key, a type of its own) go through
    ``json.dumps``, which succeeds or fails as an ordinary insert would."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value)


def _copy_text(text: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" not in text and text.isprintable():  # the usual case: two scans, no copy
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_str(value: Any) -> str:
    """A text column's value as COPY text (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    return _copy_text(str(value))


def _last_kept(format_: _Format) -> _Format:
    """``format_`` remembering its last value: a group's rows share their timestamps (the same
    ``now`` object), immutable values written once."""
    last: list[Any] = [None, None]

    def kept(value: Any) -> Any:
        if value is last[0] and value is not None:
            return last[1]
        written = format_(value)
        last[0], last[1] = value, written
        return written

    return kept


def _copy_format(python_type: type, process: _Format | None, moment: bool = False) -> _Format:
    """What writes one column's value as COPY text (after the column type's own processing);
    ``moment``: a date or time column, whose last value is remembered."""
    if process is None and python_type not in (bool, datetime, date, int):
        return _copy_str  # text (an AutoString's python_type is object)
    if python_type is bool:
        base: _Format = lambda v: "t" if v else "f"  # noqa: E731
    elif python_type in (datetime, date):
        base = lambda v: v.isoformat()  # noqa: E731
    elif python_type is int:
        base = lambda v: str(int(v))  # noqa: E731
    else:
        base = lambda v: _copy_text(str(v))  # noqa: E731
    if process is not None:
        processed = base
        base = lambda v: processed(process(v))  # noqa: E731
    format_: _Format = lambda v: "\\N" if v is None else base(v)  # noqa: E731
    return _last_kept(format_) if moment else format_


@functools.cache
def _formats(dialect_name: str) -> tuple[tuple[_Format | None, ...], ...]:
    """Per table of _TABLES, per column: what turns a value into the driver's (None: as is;
    on PostgreSQL, into COPY text)."""
    dialect = _DIALECTS[dialect_name]()
    formats = []
    for table, columns in _TABLES:
        kept: list[_Format | None] = []
        for name in columns:
            type_ = table.c[name].type
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(type_, JSON):
                # JSON text holds no raw tab, newline or carriage return: only backslashes.
                json_format: _Format = (
                    (lambda v: dump_json(v).replace("\\", "\\\\"))
                    if dialect_name == "postgresql"
                    else dump_json
                )
                kept.append(json_format)
            elif dialect_name == "postgresql":
                impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
                moment = isinstance(impl, DateTime | Date)
                kept.append(_copy_format(type_.python_type, process, moment))
            else:
                kept.append(process)
        formats.append(tuple(kept))
    return tuple(formats)


def form_records(
    dialect_name: str,
    application: dict[str, Any],
    task: dict[str, Any],
    event: dict[str, Any],
) -> FormRecords:
    """One new form's rows as the driver takes them (pure: the bulk worker process calls it).
    Raises as the insert would for a value its column refuses (a datetime without a zone)."""
    app_columns, task_columns, event_columns = _columns(dialect_name)
    if dialect_name != "postgresql":
        return (
            _record(application, app_columns),
            _record(task, task_columns),
            _record(event, event_columns),
        )
    # A lone surrogate goes as it is: the database refuses the group, which is then stored
    # line by line, as with any value it refuses.
    return (
        _copy_line(application, app_columns),
        _copy_line(task, task_columns),
        _copy_line(event, event_columns),
    )


_Columns = tuple[tuple[str, _Format | None], ...]


@functools.cache
def _columns(dialect_name: str) -> tuple[_Columns, ...]:
    """Per table of _TABLES: each column's name with what writes its value for the driver."""
    return tuple(
        tuple(zip(columns, formats, strict=True))
        for (_table, columns), formats in zip(_TABLES, _formats(dialect_name), strict=True)
    )


def _copy_line(row: dict[str, Any], columns: _Columns) -> bytes:
    get = row.get
    fields = [format_(get(name)) for name, format_ in columns]  # type: ignore[misc]
    return ("\t".join(fields) + "\n").encode("utf-8", "surrogatepass")


def _record(row: dict[str, Any], columns: _Columns) -> tuple[Any, ...]:
    get = row.get
    return tuple(
        [get(name) if format_ is None else format_(get(name)) for name, format_ in columns]
    )


async def insert_forms(session: AsyncSession, forms: list[FormRecords]) -> None:
    """Bulk intake: new forms' applications, entry tasks and signed event-log rows, in the
    session's transaction. PostgreSQL: one COPY per table (text lines the worker wrote);
    SQLite: one executemany per table."""
    if not forms:
        return
    applications, tasks, events = zip(*forms, strict=True)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        if not driver.is_in_transaction():
            # The driver opens the session's transaction with its first statement: COPY must
            # not run before it, outside the transaction.
            await connection.execute(_SELECT_ONE)
        assert driver.is_in_transaction()
        for (table, columns), lines in zip(_TABLES, (applications, tasks, events), strict=True):
            # A buffer, not bytes: the driver would take bytes for a file's path.
            data = memoryview(b"".join(lines))
            await driver.copy_to_table(table.name, source=data, columns=columns, format="text")
        return
    await connection.exec_driver_sql(_SQLITE_INSERTS[0], list(applications))
    await connection.exec_driver_sql(_SQLITE_INSERTS[1], list(tasks))
    await connection.exec_driver_sql(_SQLITE_INSERTS[2], list(events))


def _quoted(name: str) -> str:
    return '"' + name + '"'  # "values" is a keyword


_SELECT_ONE = text("SELECT 1")
_SQLITE_INSERTS = tuple(
    f"INSERT INTO {table.name} ({', '.join(map(_quoted, columns))}) "
    f"VALUES ({', '.join('?' * len(columns))})"
    for table, columns in _TABLES
)
_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "postgresql": postgresql_asyncpg.dialect,
    "sqlite": sqlite_aiosqlite.dialect,
}


async def add_applications(session: AsyncSession, applications: list[Application]) -> None:
    session.add_all(applications)
    await session.flush()


async def add_tasks(session: AsyncSession, tasks: list[Task]) -> None:
    session.add_all(tasks)
    await session.flush()


async def get_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id)
