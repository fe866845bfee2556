"""Bulk intake commits in groups: a bad line inside a group costs the group's speed, never the
other lines' results; a sender cut off inside a group finds exactly the committed groups."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from app.domain.audit import LogName
from app.services import bulk, intake
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, EventLog, Task
from tests.factories import status_report
from tests.hostile.test_bulk_lines import NDJSON, count, line, results_of, settled_count
from tests.support import LiveServer, Office


async def check_stored(server: LiveServer, refs: set[str]) -> None:
    """Exactly these refs are stored, each with one open entry task and one signed log row."""
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            apps = (await session.execute(select(Application))).scalars().all()
            tasks = (await session.execute(select(Task))).scalars().all()
            events = (
                (
                    await session.execute(
                        select(EventLog).where(
                            EventLog.entity == "application", EventLog.action == "receive"
                        )
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert {a.external_ref for a in apps} == refs
    assert all(a.municipality_code == "431001" for a in apps)
    by_app: dict[str, list[Task]] = {}
    for task in tasks:
        by_app.setdefault(task.application_id, []).append(task)
    assert {a.id: [t.kind for t in by_app.get(a.id, [])] for a in apps} == {
        a.id: ["entry"] for a in apps
    }
    assert sorted(e.entity_id for e in events) == sorted(a.id for a in apps)
    keys = server.settings.audit.keys
    assert all(keys.check(LogName.EVENT, e.model_dump()) for e in events)


async def test_a_duplicate_and_a_conflict_in_the_middle_of_a_group(
    server: LiveServer, office: Office
) -> None:
    lines = [line(f"MID-{n}") for n in range(1, 401)]
    lines[199] = line("MID-10")  # line 200: the form of line 10 again
    lines[249] = line("MID-20", claimant_name="別人 太郎")  # line 250: ref of line 20, other form
    async with server.client(office.token("intake")) as client:
        results = results_of(
            await client.post("/applications/bulk", content=b"\n".join(lines), headers=NDJSON)
        )
    assert [r["line"] for r in results] == list(range(1, 401))
    statuses = {r["line"]: r["status"] for r in results}
    assert statuses[200] == "duplicate" and results[199]["id"] == results[9]["id"]
    assert statuses[250] == "conflict" and results[249]["id"] == results[19]["id"]
    assert [n for n, s in statuses.items() if s != "created"] == [200, 250]
    await check_stored(server, {f"MID-{n}" for n in range(1, 401)} - {"MID-200", "MID-250"})


async def test_a_constraint_error_inside_a_group_falls_back_line_by_line(
    server: LiveServer, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with server.client(office.token("intake")) as client:
        [first] = results_of(
            await client.post("/applications/bulk", content=line("RACE-150"), headers=NDJSON)
        )
        assert first["status"] == "created"

        # Another sender's copy lands between the group's lookup and its insert (the lookup
        # misses it), and one line breaks a NOT NULL column whatever it is sent with.
        async def stale_lookup(*_args: Any) -> dict[str, tuple[str, str]]:
            return {}

        real_row = intake.application_row

        def broken_row(*args: Any, **kwargs: Any) -> dict[str, Any]:
            row = real_row(*args, **kwargs)
            if row["external_ref"] == "RACE-300":
                row["procedure"] = None
            return row

        monkeypatch.setattr(intake, "find_by_references", stale_lookup)
        monkeypatch.setattr(intake, "application_row", broken_row)
        lines = [line(f"RACE-{n}") for n in range(1, 401)]
        results = results_of(
            await client.post("/applications/bulk", content=b"\n".join(lines), headers=NDJSON)
        )
    assert [r["line"] for r in results] == list(range(1, 401))
    statuses = {r["line"]: r["status"] for r in results}
    assert statuses[150] == "duplicate" and results[149]["id"] == first["id"]
    assert statuses[300] == "failed"
    assert results[299]["errors"][0]["code"] == "not_stored"
    assert [n for n, s in statuses.items() if s != "created"] == [150, 300]
    await check_stored(server, {f"RACE-{n}" for n in range(1, 401)} - {"RACE-300"})


async def test_a_sender_cut_off_inside_a_group_finds_the_committed_groups_stored(
    server: LiveServer, office: Office
) -> None:
    size = bulk.BATCH
    lines = [line(f"HALF-{n}") + b"\n" for n in range(1, size + size // 2 + 1)]

    async def cut_inside_the_second_group() -> AsyncIterator[bytes]:
        for raw in lines:
            yield raw
        for _ in range(400):  # the first group commits; the second is half read
            if await count(server) > 0:
                break
            await asyncio.sleep(0.05)
        raise ConnectionResetError("the sender's link went down")

    async with server.client(office.token("intake")) as client:
        try:
            await client.post(
                "/applications/bulk", content=cut_inside_the_second_group(), headers=NDJSON
            )
        except (httpx2.HTTPError, ConnectionResetError):
            pass
        assert await settled_count(server) == size  # the half group: nothing of it
        await check_stored(server, {f"HALF-{n}" for n in range(1, size + 1)})
        results = results_of(
            await client.post("/applications/bulk", content=b"".join(lines), headers=NDJSON)
        )
    statuses = [r["status"] for r in results]
    assert statuses == ["duplicate"] * size + ["created"] * (size // 2)
    await check_stored(server, {f"HALF-{n}" for n in range(1, len(lines) + 1)})


def test_results_are_one_json_line_each() -> None:
    encoded = bulk.encode_results([{"line": 1, "status": "created", "id": "a", "problems": 0}])
    assert [json.loads(raw) for raw in encoded] == [
        {"line": 1, "status": "created", "id": "a", "problems": 0}
    ]
    assert all(raw.endswith(b"\n") and raw.count(b"\n") == 1 for raw in encoded)


async def test_a_clean_group_is_stored_in_one_go(
    server: LiveServer, office: Office, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services.bulk")
    lines = [line(f"FAST-{n}") for n in range(1, bulk.BATCH + 101)]
    async with server.client(office.token("intake")) as client:
        results = results_of(
            await client.post("/applications/bulk", content=b"\n".join(lines), headers=NDJSON)
        )
    assert [r["status"] for r in results] == ["created"] * len(lines)
    assert not [r for r in caplog.records if "line by line" in r.getMessage()]
    await check_stored(server, {f"FAST-{n}" for n in range(1, len(lines) + 1)})


async def test_a_form_sent_in_bulk_is_stored_as_the_same_form_sent_alone(
    server: LiveServer, office: Office
) -> None:
    """The bulk path writes its rows itself (COPY, or a plain executemany): they read back as
    the rows the ordinary path writes, JSON columns, dates, flags and the log row alike."""
    at = {"received_at": "2026-08-10T09:00:00+09:00"}
    # What COPY's text format escapes, in a plain column and in a JSON one.
    alone, in_bulk = status_report("SAME-1\t\\N", **at), status_report("SAME-2\t\\N", **at)
    for body in (alone, in_bulk):
        body["applicant"]["given_name"] = "花\t子\\N\r\n"
    no_ocr = {k: v for k, v in status_report("SAME-3", **at).items() if k != "ocr"}
    alone_no_ocr = {**no_ocr, "external_ref": "SAME-4"}
    async with server.client(office.token("intake")) as client:
        for body in (alone, alone_no_ocr):
            assert (await client.post("/applications", json=body)).status_code == 201
        content = b"\n".join(json.dumps(b, ensure_ascii=False).encode() for b in (in_bulk, no_ocr))
        results = results_of(
            await client.post("/applications/bulk", content=content, headers=NDJSON)
        )
    assert [r["status"] for r in results] == ["created", "created"]
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            apps = {
                a.external_ref: a
                for a in (await session.execute(select(Application))).scalars().all()
            }
            tasks = {t.application_id: t for t in (await session.execute(select(Task))).scalars()}
            events = {e.entity_id: e for e in (await session.execute(select(EventLog))).scalars()}
    finally:
        await engine.dispose()

    def same(one: Any, other: Any, *differ: str) -> None:
        left, right = one.model_dump(), other.model_dump()
        for name in differ:
            left.pop(name), right.pop(name)
        assert left == right

    keys = server.settings.audit.keys
    for single, bulk_ref in (("SAME-1\t\\N", "SAME-2\t\\N"), ("SAME-4", "SAME-3")):
        a, b = apps[single], apps[bulk_ref]
        same(a, b, "id", "external_ref", "created_at", "updated_at")
        same(tasks[a.id], tasks[b.id], "id", "application_id", "created_at")
        same(events[a.id], events[b.id], "id", "entity_id", "at", "mac", "chain_seq", "chain_hash")
        assert keys.check(LogName.EVENT, events[b.id].model_dump())
    assert apps["SAME-3"].ocr is None
    assert apps["SAME-2\t\\N"].applicant["given_name"] == "花\t子\\N\r\n"
