"""Bulk intake: NDJSON in, one result line per input line out, in constant memory.

Lines are stored in batches, one transaction per batch and a savepoint per line, and each
batch's results are streamed back only after it has committed: "created" means durable.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError

from app.domain.errors import DomainError
from app.domain.roles import Principal
from app.resources import Resources
from app.services import intake
from app.services.uow import UnitOfWork
from app.settings import Settings

BATCH = 200


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
    batch: list[tuple[int, Any]] = []
    async for number, raw in split_lines(chunks, settings.max_bulk_line_bytes):
        batch.append((number, parse_line(raw, settings.max_bulk_line_bytes)))
        if len(batch) >= BATCH:
            for line in await _store(batch, principal, resources, settings):
                yield line
            batch = []
    if batch:
        for line in await _store(batch, principal, resources, settings):
            yield line


async def _store(
    batch: list[tuple[int, Any]], principal: Principal, resources: Resources, settings: Settings
) -> list[bytes]:
    results: list[dict[str, Any]] = []
    async with resources.sessionmaker() as session:
        uow = UnitOfWork(session, clock=resources.clock, settings=settings,
                         notify_lobby=resources.hub.notify)
        uow.principal = principal
        for number, parsed in batch:
            if isinstance(parsed, dict):
                results.append({"line": number, **parsed})
                continue
            try:
                async with session.begin_nested():
                    application, created = await intake.receive(uow, principal, parsed.envelope())
            except DomainError as error:
                results.append({"line": number, "status": "rejected",
                                "errors": getattr(error, "errors", None) or [
                                    {"field": "line", "code": error.code, "message": error.message}]})
                continue
            results.append({
                "line": number, "status": "created" if created else "duplicate",
                "id": application.id, "problems": len(application.problems),
            })
        await uow.commit()
    return [(json.dumps(r, ensure_ascii=False) + "\n").encode() for r in results]
