"""Bulk intake: NDJSON in, one result line per input line out, in constant memory.

Lines are stored in batches, one transaction per batch and a savepoint per line, and each
batch's results are streamed back only after it has committed: "created" means durable.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from app.domain.errors import DomainError
from app.domain.roles import Principal
from app.resources import Resources
from app.services import intake
from app.services.uow import UnitOfWork
from app.settings import Settings

BATCH = 500


async def split_lines(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; None for a line longer than ``max_bytes`` (skipped)."""
    buffer = b""
    number = 0
    too_long = False
    async for chunk in chunks:
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > max_bytes:
                    too_long, buffer = True, b""
                break
            line, buffer = buffer[:end], buffer[end + 1:]
            number += 1
            if too_long or len(line) > max_bytes:
                too_long = False
                yield number, None
            elif line.strip():
                yield number, line
    if too_long:
        yield number + 1, None
    elif buffer.strip():
        yield number + 1, buffer


def parse_line(raw: bytes | None, max_bytes: int) -> Any:
    """A validated envelope, or a result dict describing why the line was refused."""
    from app.api.applications import SubmitApplication  # the envelope is the HTTP contract

    if raw is None:
        return _refused("line", "line_too_long", f"1行が長すぎます (line over {max_bytes} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refused("line", "invalid_utf8", "UTF-8 ではありません (not valid UTF-8)")
    try:
        data = json.loads(text)
    except ValueError:
        return _refused("line", "invalid_json", "JSON として読めません (not JSON)")
    try:
        return SubmitApplication.model_validate(data)
    except ValidationError as error:
        return {"status": "rejected", "errors": [
            {"field": ".".join(str(p) for p in e["loc"]) or "line", "code": e["type"], "message": e["msg"]}
            for e in error.errors(include_input=False)
        ]}


def _refused(field: str, code: str, message: str) -> dict[str, Any]:
    return {"status": "rejected", "errors": [{"field": field, "code": code, "message": message}]}


async def bulk_results(
    chunks: AsyncIterator[bytes], principal: Principal, resources: Resources, settings: Settings
) -> AsyncIterator[bytes]:
    """Validate each batch while the previous one is being written: CPU and database overlap."""
    batch: list[tuple[int, Any]] = []
    pending: asyncio.Task[list[bytes]] | None = None
    try:
        async for number, raw in split_lines(chunks, settings.max_bulk_line_bytes):
            batch.append((number, parse_line(raw, settings.max_bulk_line_bytes)))
            if len(batch) >= BATCH:
                prepared = _prepare(batch, principal, resources.clock.now(), Path(settings.attachment_dir))
                if pending is not None:
                    for line in await pending:
                        yield line
                pending = asyncio.create_task(_store(prepared, principal, resources, settings))
                batch = []
        if pending is not None:
            for line in await pending:
                yield line
            pending = None
    finally:
        if pending is not None and not pending.done():
            # The sender went away: the batch in flight still commits, as acknowledged ones do.
            await asyncio.shield(pending)
    if batch:
        for line in await _store(_prepare(batch, principal, resources.clock.now(), Path(settings.attachment_dir)), principal, resources, settings):
            yield line


Prepared = list[tuple[int, Any, dict[str, Any] | None]]


def _prepare(batch: list[tuple[int, Any]], principal: Principal, now: datetime, root: Path) -> Prepared:
    """(line, parsed envelope or refusal, the row it becomes) — the pure, CPU-heavy part."""
    prepared: Prepared = []
    for number, parsed in batch:
        if isinstance(parsed, dict) or parsed.ticket is not None:
            prepared.append((number, parsed, None))
        else:
            prepared.append((number, parsed, intake.application_row(principal, parsed.envelope(), now, None, root)))
    return prepared


async def _store(
    batch: Prepared, principal: Principal, resources: Resources, settings: Settings
) -> list[bytes]:
    try:
        results = await _store_batch(batch, principal, resources, settings)
    except IntegrityError:
        # A concurrent sender stored one of these refs first: go line by line.
        results = await _store_lines(batch, principal, resources, settings)
    return [(json.dumps(r, ensure_ascii=False) + "\n").encode() for r in results]


def _uow(session: Any, principal: Principal, resources: Resources, settings: Settings) -> UnitOfWork:
    uow = UnitOfWork(session, clock=resources.clock, settings=settings, notify_lobby=resources.hub.notify)
    uow.principal = principal
    return uow


async def _store_batch(
    batch: Prepared, principal: Principal, resources: Resources, settings: Settings
) -> list[dict[str, Any]]:
    """The fast path: one lookup of known refs, then all new rows inserted together."""
    results: list[dict[str, Any]] = []
    async with resources.sessionmaker() as session:
        uow = _uow(session, principal, resources, settings)
        refs = [row["external_ref"] for _n, _p, row in batch if row and row["external_ref"]]
        known = await intake.find_by_references(uow, principal, refs)
        fresh: list[dict[str, Any]] = []
        for number, parsed, row in batch:
            if isinstance(parsed, dict):
                results.append({"line": number, **parsed})
            elif row is None:
                results.append(await _one(uow, number, parsed, principal))
            elif row["external_ref"] and row["external_ref"] in known:
                results.append({"line": number, "status": "duplicate", "id": known[row["external_ref"]]})
            else:
                if row["external_ref"]:
                    known[row["external_ref"]] = row["id"]
                fresh.append(row)
                results.append({"line": number, "status": "created", "id": row["id"],
                                "problems": len(row["problems"])})
        await intake.insert_rows(uow, fresh)
        await uow.commit()
    return results


async def _store_lines(
    batch: Prepared, principal: Principal, resources: Resources, settings: Settings
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    async with resources.sessionmaker() as session:
        uow = _uow(session, principal, resources, settings)
        for number, parsed, _row in batch:
            if isinstance(parsed, dict):
                results.append({"line": number, **parsed})
                continue
            async with uow.savepoint():
                results.append(await _one(uow, number, parsed, principal))
        await uow.commit()
    return results


async def _one(uow: UnitOfWork, number: int, parsed: Any, principal: Principal) -> dict[str, Any]:
    try:
        application, created = await intake.receive(uow, principal, parsed.envelope())
    except DomainError as error:
        return {"line": number, "status": "rejected", "errors": getattr(error, "errors", None) or [
            {"field": "line", "code": error.code, "message": error.message}]}
    return {"line": number, "status": "created" if created else "duplicate", "id": application.id,
            "problems": len(application.problems)}
