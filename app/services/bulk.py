"""Bulk intake: NDJSON in, one result line per input line out, in constant memory.

Lines are checked in groups of BATCH (in a worker process, see bulk_workers), which also makes
each new form's rows ready for the driver (JSON columns written once, the event-log row signed
with the service's audit key, given to the worker with each group); each group is stored in one
transaction, one COPY per table on PostgreSQL, one executemany on SQLite; a group the database
refuses is stored again line by line, a savepoint each. A group's results are streamed back
only after it has committed: "created" means durable, and every other status means nothing of
that line was stored. Every non-blank input line gets exactly one result, in order, whatever
it holds; blank lines count in the numbering but get none.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from app.domain import shape
from app.domain.audit import AuditKeys
from app.domain.errors import DomainError
from app.domain.roles import Principal
from app.domain.shape import ShapeLimits
from app.services import bulk_workers, intake
from app.services.envelopes import SubmitApplication
from app.services.runtime import Runtime
from app.settings import Settings
from app.storage.db import is_sqlite
from app.storage.intake import FormRecords
from app.storage.uow import UnitOfWork

BATCH = 500

log = logging.getLogger(__name__)


class LineSplitter:
    """Cuts a byte stream into lines in time linear in its length, whatever the stream holds.

    At most ``max_bytes`` of one line is ever held: a longer line is dropped as it arrives and
    reported once, as ``None``, when its newline (or the end) comes. Line numbers count every
    line, blank ones included; blank (whitespace-only) lines are not yielded.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.partial = bytearray()
        self.number = 0
        self.overlong = False
        self.seen_any = False

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes | None]]:
        if (
            not chunk.strip()
            and not self.overlong
            and len(self.partial) + len(chunk) <= self.max_bytes
        ):
            # Only whitespace (say a megabyte of newlines): count the lines in one C-level pass.
            newlines = chunk.count(b"\n")
            if newlines:
                if bytes(self.partial).strip():
                    self.number += 1
                    yield self._line(bytes(self.partial) + chunk[: chunk.find(b"\n")])
                    newlines -= 1
                self.number += newlines
                self.partial.clear()
                self.partial += chunk[chunk.rfind(b"\n") + 1 :]
            else:
                self.partial += chunk
            return
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:end]
            start = end + 1
            self.number += 1
            if self.overlong or len(self.partial) + len(piece) > self.max_bytes:
                self.overlong = False
                self.partial.clear()
                yield self._line(None)
            elif self.partial:
                line = bytes(self.partial) + piece
                self.partial.clear()
                if line.strip():
                    yield self._line(line)
            elif piece.strip():
                yield self._line(piece)
        rest = chunk[start:]
        if self.overlong:
            return
        if len(self.partial) + len(rest) > self.max_bytes:
            self.overlong = True
            self.partial.clear()
        else:
            self.partial += rest

    def finish(self) -> Iterator[tuple[int, bytes | None]]:
        """The last line if the stream did not end with a newline."""
        if self.overlong:
            self.number += 1
            yield self._line(None)
        elif bytes(self.partial).strip():
            self.number += 1
            yield self._line(bytes(self.partial))
        self.partial.clear()

    def _line(self, line: bytes | None) -> tuple[int, bytes | None]:
        self.seen_any = True
        if line is not None and self.number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark some editors write
        return self.number, line


async def split_lines(
    chunks: AsyncIterator[bytes], max_bytes: int, *, report_empty: bool = False
) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number, bytes) per non-blank line; None for a line longer than ``max_bytes``.

    With ``report_empty``, a stream without a single non-blank line yields one (last line
    number, b"") so that the sender hears about it (parse_line reports it as ``no_lines``).
    """
    splitter = LineSplitter(max_bytes)
    async for chunk in chunks:
        for line in splitter.feed(chunk):
            yield line
    for line in splitter.finish():
        yield line
    if report_empty and not splitter.seen_any:
        yield max(splitter.number, 1), b""


def parse_line(
    raw: bytes | None, max_bytes: int, limits: ShapeLimits = shape.DEFAULT_LIMITS
) -> Any:
    """A validated envelope, or a result dict describing why the line was refused."""
    if raw is None:
        return _refused("line", "line_too_long", f"1行が長すぎます (line over {max_bytes} bytes)")
    if not raw.strip():
        return _refused("body", "no_lines", "申請の行がありません (no application lines were sent)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refused("line", "invalid_utf8", "UTF-8 ではありません (not valid UTF-8)")
    try:
        data, fits = shape.loads_fitting(text, limits)
    except shape.TooDeep:
        return {"status": "rejected", "errors": [shape.too_deep_problem(limits)]}
    except ValueError:
        return _refused("line", "invalid_json", "JSON として読めません (not JSON)")
    if not fits and (problems := shape.check_shape(data, limits)):
        return {"status": "rejected", "errors": problems}
    try:
        return SubmitApplication.model_validate(data)
    except ValidationError as error:
        return {
            "status": "rejected",
            "errors": [
                {
                    "field": ".".join(str(p) for p in e["loc"]) or "line",
                    "code": e["type"],
                    "message": e["msg"],
                }
                for e in error.errors(include_input=False)
            ],
        }


def _refused(field: str, code: str, message: str) -> dict[str, Any]:
    return {"status": "rejected", "errors": [{"field": field, "code": code, "message": message}]}


async def bulk_results(
    chunks: AsyncIterator[bytes], principal: Principal, resources: Runtime, settings: Settings
) -> AsyncIterator[bytes]:
    """Check each group (in a worker process) while the previous one is being written: CPU and
    database overlap. A group's results go out together, one write for all its lines."""
    batch: list[tuple[int, bytes | None]] = []
    pending: asyncio.Task[list[bytes]] | None = None
    checking: asyncio.Future[Prepared] | None = None
    try:
        async for number, raw in split_lines(
            chunks, settings.max_bulk_line_bytes, report_empty=True
        ):
            batch.append((number, raw))
            if len(batch) >= BATCH:
                checking = asyncio.ensure_future(_check(batch, principal, resources, settings))
                if pending is not None:
                    yield b"".join(await pending)
                prepared = await checking
                checking = None
                pending = asyncio.create_task(_store(prepared, principal, resources, settings))
                batch = []
        if pending is not None:
            yield b"".join(await pending)
            pending = None
    finally:
        if checking is not None:
            checking.cancel()  # never stored: the sender hears nothing of these lines
        if pending is not None and not pending.done():
            # The sender went away: the batch in flight still commits, as acknowledged ones do.
            await asyncio.shield(pending)
    if batch:
        prepared = await _check(batch, principal, resources, settings)
        yield b"".join(await _store(prepared, principal, resources, settings))


class Ready(NamedTuple):
    """A checked line that becomes a new form: what its result says and the rows it stores, as
    the driver takes them (made in the worker process)."""

    id: str
    external_ref: str | None
    fingerprint: str | None  # of its content, when it has a reference
    problems: int
    records: FormRecords  # its application, entry task and signed event-log row


# Per line: the refusal (a result dict) or None, and the form it becomes or None.
Checked = list[tuple[int, dict[str, Any] | None, Ready | None]]


def check_lines(
    lines: list[tuple[int, bytes | None]],
    principal: Principal,
    now: datetime,
    root: Path,
    max_bytes: int,
    limits: ShapeLimits,
    keys: AuditKeys,
    dialect: str,
) -> Checked:
    """Each line parsed and, unless refused or tied to a ticket, made into the rows it stores,
    the event-log row signed with ``keys`` (pure: it runs in a worker process)."""
    parsed = [(number, parse_line(raw, max_bytes, limits)) for number, raw in lines]
    checked: Checked = []
    for number, outcome, row in prepare(parsed, principal, now, root):
        if row is None:
            checked.append((number, outcome if isinstance(outcome, dict) else None, None))
            continue
        reference = row["external_ref"]
        try:
            records = intake.form_records(row, principal, now, keys, dialect)
        except (TypeError, ValueError) as error:
            # A value its column refuses: stored on its own in the server, which answers it as
            # the database does.
            log.info("bulk line %d stored on its own: %s", number, type(error).__name__)
            checked.append((number, None, None))
            continue
        checked.append(
            (
                number,
                None,
                Ready(
                    row["id"],
                    reference,
                    intake.fingerprint(row) if reference else None,
                    len(row["problems"]),
                    records,
                ),
            )
        )
    return checked


class Deferred:
    """A line checked in a worker: parsed again here only if it must be stored on its own."""

    __slots__ = ("limits", "max_bytes", "raw")

    def __init__(self, raw: bytes | None, max_bytes: int, limits: ShapeLimits) -> None:
        self.raw, self.max_bytes, self.limits = raw, max_bytes, limits

    def envelope(self) -> Any:
        parsed = parse_line(self.raw, self.max_bytes, self.limits)
        if isinstance(parsed, dict):  # the worker found it valid: the same code says so here
            raise DomainError(parsed["errors"][0]["message"])
        return parsed.envelope()


async def _check(
    lines: list[tuple[int, bytes | None]],
    principal: Principal,
    resources: Runtime,
    settings: Settings,
) -> "Prepared":
    max_bytes, limits = settings.max_bulk_line_bytes, settings.json_shape.limits()
    now, root = resources.clock.now(), Path(settings.attachment_dir)
    dialect = "sqlite" if is_sqlite(settings.database_url) else "postgresql"
    # With more than one worker, the group is cut in as many parts, checked at once.
    size = -(-len(lines) // max(1, settings.bulk_workers))
    parts = await asyncio.gather(
        *(
            bulk_workers.run(
                check_lines,
                lines[first : first + size],
                principal,
                now,
                root,
                max_bytes,
                limits,
                settings.audit.keys,
                dialect,
                processes=settings.bulk_workers,
            )
            for first in range(0, len(lines), size)
        )
    )
    checked = [line for part in parts for line in part]
    raw_of = dict(lines)
    prepared: Prepared = []
    for number, refusal, ready in checked:
        if refusal is not None:
            prepared.append((number, refusal, None))
        elif ready is not None:
            prepared.append((number, Deferred(raw_of[number], max_bytes, limits), ready))
        else:  # tied to a ticket, or a value a column refuses: stored on its own, here
            prepared.append((number, parse_line(raw_of[number], max_bytes, limits), None))
    return prepared


# Per line: the refusal (a result dict) or the envelope, and the form it becomes or None.
Prepared = list[tuple[int, Any, Ready | None]]


def prepare(
    batch: list[tuple[int, Any]], principal: Principal, now: datetime, root: Path
) -> list[tuple[int, Any, dict[str, Any] | None]]:
    """(line, parsed envelope or refusal, the row it becomes) — the pure, CPU-heavy part."""
    prepared: list[tuple[int, Any, dict[str, Any] | None]] = []
    for number, parsed in batch:
        if isinstance(parsed, dict) or parsed.ticket is not None:
            prepared.append((number, parsed, None))
            continue
        try:
            row = intake.application_row(principal, parsed.envelope(), now, None, root)
        except DomainError as error:
            prepared.append((number, _rejected(error), None))
            continue
        prepared.append((number, parsed, row))
    return prepared


def _rejected(error: DomainError) -> dict[str, Any]:
    return {
        "status": "rejected",
        "errors": getattr(error, "errors", None)
        or [{"field": "line", "code": error.code, "message": error.message}],
    }


async def _store(
    batch: Prepared, principal: Principal, resources: Runtime, settings: Settings
) -> list[bytes]:
    """One result per line of the batch, after the lines it reports as stored have committed."""
    try:
        results = await _store_batch(batch, principal, resources, settings)
    except Exception as error:  # noqa: BLE001 — every line must still get its answer
        # A concurrent sender stored one of these refs first, or one line upsets the database:
        # go line by line, each in its own savepoint.
        log.info("bulk batch falls back to line by line: %s", type(error).__name__)
        try:
            results = await _store_lines(batch, principal, resources, settings)
        except Exception as error:  # noqa: BLE001
            log.warning("bulk batch not stored: %s", type(error).__name__)
            results = [
                {"line": number, **parsed} if isinstance(parsed, dict) else _not_stored(number)
                for number, parsed, _row in batch
            ]
    return encode_results(results)


def encode_results(results: list[dict[str, Any]]) -> list[bytes]:
    """One JSON line per result (UTF-8, names and messages as they are)."""
    return [orjson.dumps(r) + b"\n" for r in results]


def _not_stored(number: int) -> dict[str, Any]:
    return {
        "line": number,
        "status": "failed",
        "errors": [
            {
                "field": "line",
                "code": "not_stored",
                "message": "保存できませんでした。この行を再送してください "
                "(not stored; send this line again)",
            }
        ],
    }


def _uow(session: Any, principal: Principal, resources: Runtime, settings: Settings) -> UnitOfWork:
    uow = UnitOfWork(
        session, clock=resources.clock, settings=settings, notify_lobby=resources.hub.notify
    )
    uow.principal = principal
    return uow


def _conflict(number: int, stored_id: str) -> dict[str, Any]:
    conflict = intake.ReferenceConflict(stored_id)
    return {
        "line": number,
        "status": "conflict",
        "id": stored_id,
        "errors": [{"field": "external_ref", "code": conflict.code, "message": conflict.message}],
    }


async def _store_batch(
    batch: Prepared, principal: Principal, resources: Runtime, settings: Settings
) -> list[dict[str, Any]]:
    """The fast path: one lookup of known refs, then all new rows inserted together."""
    results: list[dict[str, Any]] = []
    async with resources.sessionmaker() as session:
        uow = _uow(session, principal, resources, settings)
        refs = [ready.external_ref for _n, _p, ready in batch if ready and ready.external_ref]
        known = await intake.find_by_references(uow, principal, refs)
        fresh: list[FormRecords] = []
        for number, parsed, ready in batch:
            if isinstance(parsed, dict):
                results.append({"line": number, **parsed})
            elif ready is None:
                results.append(await _one(uow, number, parsed, principal))
            elif ready.external_ref and ready.external_ref in known:
                stored_id, stored = known[ready.external_ref]
                if stored == ready.fingerprint:
                    results.append({"line": number, "status": "duplicate", "id": stored_id})
                else:
                    results.append(_conflict(number, stored_id))
            else:
                if ready.external_ref and ready.fingerprint is not None:
                    known[ready.external_ref] = (ready.id, ready.fingerprint)
                fresh.append(ready.records)
                results.append(
                    {
                        "line": number,
                        "status": "created",
                        "id": ready.id,
                        "problems": ready.problems,
                    }
                )
        await intake.insert_forms(uow, fresh)
        await uow.commit()
    return results


async def _store_lines(
    batch: Prepared, principal: Principal, resources: Runtime, settings: Settings
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    async with resources.sessionmaker() as session:
        uow = _uow(session, principal, resources, settings)
        for number, parsed, _row in batch:
            if isinstance(parsed, dict):
                results.append({"line": number, **parsed})
                continue
            try:
                async with uow.savepoint():
                    results.append(await _one(uow, number, parsed, principal))
            except Exception as error:  # noqa: BLE001 — this line is not stored; the rest go on
                log.warning("bulk line %d not stored: %s", number, type(error).__name__)
                results.append(_not_stored(number))
        await uow.commit()
    return results


async def _one(uow: UnitOfWork, number: int, parsed: Any, principal: Principal) -> dict[str, Any]:
    try:
        application, created = await intake.receive(uow, principal, parsed.envelope())
    except intake.ReferenceConflict as conflict:
        return _conflict(number, str(conflict.context["application_id"]))
    except DomainError as error:
        return {"line": number, **_rejected(error)}
    return {
        "line": number,
        "status": "created" if created else "duplicate",
        "id": application.id,
        "problems": len(application.problems),
    }
