"""Fifty operators at once on PostgreSQL: every task done exactly once, no household held twice."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict

import httpx2
import pytest
from sqlalchemy import func, select

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import EventLog, Task
from tests.factories import status_report
from tests.support import Office, seed
from tests.support_process import server_process

OPERATORS = 50
TASKS = 5000
HOUSEHOLDS = 1000


async def make_operators(base: str, office: Office, count: int) -> list[str]:
    async with httpx2.AsyncClient(
        base_url=base + "/api/v1", headers={"Authorization": f"Bearer {office.token('admin')}"}
    ) as admin:
        tokens = []
        for n in range(count):
            response = await admin.post(
                "/admin/tokens", json={"role": "operator", "name": f"op{n}", "employer": "city"}
            )
            tokens.append(response.json()["token"])
    return tokens


async def load(base: str, office: Office, count: int) -> None:
    lines = []
    for n in range(count):
        body = status_report(
            f"Q-{n}", applicant={"family_name": "佐藤", "household_ref": f"H{n % HOUSEHOLDS}"}
        )
        lines.append(httpx2.Response(200, json=body).text)
    async with httpx2.AsyncClient(
        base_url=base + "/api/v1",
        timeout=300,
        headers={"Authorization": f"Bearer {office.token('intake')}"},
    ) as intake:
        response = await intake.post(
            "/applications/bulk",
            content="\n".join(lines).encode(),
            headers={"content-type": "application/x-ndjson"},
        )
    assert response.text.count('"created"') == count


@pytest.mark.postgres
@pytest.mark.timeout(900)
async def test_fifty_operators_complete_every_task_exactly_once(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    intervals: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    completed: list[str] = []
    with server_process(clean_db, MADOGUCHI_QUEUE__LEASE_S="120") as base:
        await load(base, office, TASKS)
        tokens = await make_operators(base, office, OPERATORS)

        async def operator(token: str) -> None:
            async with httpx2.AsyncClient(
                base_url=base + "/api/v1", timeout=60, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                while True:
                    response = await client.post("/work/claim", json={"kinds": ["entry"]})
                    if response.status_code == 204:
                        return
                    assert response.status_code == 200, response.text
                    task = response.json()
                    held_from = time.monotonic()
                    household = task["form"]["applicant"]["household_ref"]
                    held_until = time.monotonic()
                    done = await client.post(
                        f"/work/{task['id']}/submit",
                        json={"lease_token": task["lease_token"], "values": task["form"]["values"]},
                    )
                    assert done.status_code == 200, done.text
                    intervals[household].append((held_from, held_until, token))
                    completed.append(task["id"])

        await asyncio.gather(*[operator(t) for t in tokens])

    counts = Counter(completed)
    assert len(counts) == TASKS and max(counts.values()) == 1
    for household, spans in intervals.items():
        spans.sort()
        for (_start, end, holder), (next_start, _e, next_holder) in zip(
            spans, spans[1:], strict=False
        ):
            assert holder == next_holder or next_start >= end, f"{household} held twice"
    engine = create_engine(clean_db)
    async with make_sessionmaker(engine)() as session:
        claims = (
            await session.execute(
                select(EventLog.entity_id, func.count())
                .where(EventLog.entity == "task", EventLog.action == "claim")
                .group_by(EventLog.entity_id)
            )
        ).all()
        open_entries = (
            await session.execute(
                select(func.count()).where(Task.kind == "entry", Task.status != "done")
            )
        ).scalar_one()
    await engine.dispose()
    # Never held by two: each entry task was leased exactly once in this run.
    assert len(claims) == TASKS and all(n == 1 for _t, n in claims)
    assert open_entries == 0


WORKER = """
import os, sys, time, httpx2
base, token = sys.argv[1], sys.argv[2]
task = httpx2.post(
    base + "/api/v1/work/claim", json={}, headers={"Authorization": "Bearer " + token}
).json()
print(task["id"], flush=True)
time.sleep(600)
"""


@pytest.mark.postgres
async def test_a_worker_killed_mid_task_loses_nothing(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    with server_process(clean_db, MADOGUCHI_QUEUE__LEASE_S="1") as base:
        await load(base, office, 1)
        doomed, survivor = await make_operators(base, office, 2)
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, base, doomed], stdout=subprocess.PIPE, text=True
        )
        assert worker.stdout is not None
        held = worker.stdout.readline().strip()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        worker.stdout.close()
        async with httpx2.AsyncClient(
            base_url=base + "/api/v1", headers={"Authorization": f"Bearer {survivor}"}
        ) as client:
            assert (await client.post("/work/claim", json={})).status_code == 204  # still leased
            await asyncio.sleep(1.2)
            task = (await client.post("/work/claim", json={})).json()
            assert task["id"] == held
            done = await client.post(
                f"/work/{held}/submit",
                json={"lease_token": task["lease_token"], "values": task["form"]["values"]},
            )
            assert done.status_code == 200
