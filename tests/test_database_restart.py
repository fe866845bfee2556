"""PostgreSQL restarts under load: clean 503s meanwhile, then the service recovers by itself."""

import asyncio
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.factories import status_report
from tests.support import Office, seed
from tests.support_process import server_process


def cluster(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def drain(display, seen: list[int], seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Record event seqs until the connection closes or stays quiet for ``seconds``."""
    try:
        while True:
            message = json.loads(await asyncio.wait_for(display.recv(), seconds))
            if message["type"] != "heartbeat":
                seen.append(message["seq"])
    except (ConnectionClosed, TimeoutError):
        return


@dataclass
class Load:
    """Kiosks, counters and intake sending requests back to back; every answer recorded."""

    answers: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)

    async def run(self, api: str, office: Office, stop: asyncio.Event) -> None:
        def client(role: str) -> httpx2.AsyncClient:
            return httpx2.AsyncClient(
                base_url=api, timeout=10, headers={"Authorization": f"Bearer {office.token(role)}"}
            )

        async def record(what: str, response: httpx2.Response) -> None:
            code = response.json().get("code") if response.status_code >= 400 else None
            self.answers.append(
                (what, response.status_code, response.headers.get("content-type", ""), code)
            )

        async def kiosk() -> None:
            async with client("kiosk") as c:
                while not stop.is_set():
                    response = await c.post(
                        f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                    )
                    await record("issue", response)
                    if response.status_code == 201:
                        self.issued.append(response.json()["id"])
                    await asyncio.sleep(0.02)

        async def counter() -> None:
            async with client("counter") as c:
                while not stop.is_set():
                    await record("call", await c.post(f"/counters/{office.counter('1')}/call-next"))
                    await asyncio.sleep(0.05)

        async def intake() -> None:
            async with client("intake") as c:
                n = 0
                while not stop.is_set():
                    n += 1
                    response = await c.post("/applications", json=status_report(f"RESTART-{n}"))
                    await record("intake", response)
                    if response.status_code == 201:
                        self.applications.append(response.json()["id"])
                    await asyncio.sleep(0.02)

        await asyncio.gather(kiosk(), counter(), intake())


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_database_restart_answers_503_then_recovers_and_displays_resume(
    clean_db: str,
) -> None:
    office = Office(await seed(clean_db))
    with server_process(clean_db) as base:
        api = base + "/api/v1"
        ws_url = (
            base.replace("http", "ws")
            + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        )
        seen: list[int] = []
        load, stop = Load(), asyncio.Event()
        async with httpx2.AsyncClient(base_url=api, timeout=10) as client:
            async with connect(ws_url) as display:
                seen.append(json.loads(await display.recv())["seq"])
                traffic = asyncio.create_task(load.run(api, office, stop))
                await asyncio.sleep(1.0)
                before_outage = len(load.answers)
                cluster("stop")
                try:
                    await asyncio.sleep(2.0)  # the load goes on against a database that is gone
                    assert (await client.get(base + "/readyz")).status_code == 503
                    assert (await client.get(base + "/healthz")).status_code == 200
                finally:
                    cluster("start")
                stopped_at = len(load.answers)
                for _ in range(150):  # the service recovers by itself: no restart, no operator
                    if any(status == 201 for _what, status, _t, _c in load.answers[stopped_at:]):
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)
                stop.set()
                await traffic
                await drain(display, seen, 3.0)
            # Whether or not its connection lived through the outage, a display that comes back
            # and resumes from the last seq it saw gets every event after it, in order.
            async with connect(ws_url) as display:
                current = json.loads(await display.recv())["seq"]
                await display.send(json.dumps({"type": "resume", "after_seq": seen[-1]}))
                replayed: list[int] = []
                while len(replayed) < current - seen[-1]:
                    message = json.loads(await asyncio.wait_for(display.recv(), 10))
                    if message["type"] != "heartbeat":
                        replayed.append(message["seq"])
            metrics = (await client.get(base + "/metrics")).text
            # Everything acknowledged before, during or after the outage is there.
            async with httpx2.AsyncClient(
                base_url=api,
                timeout=10,
                headers={"Authorization": f"Bearer {office.token('supervisor')}"},
            ) as supervisor:
                for application_id in load.applications:
                    assert (
                        await supervisor.get(f"/applications/{application_id}")
                    ).status_code == 200
    failures = [a for a in load.answers if a[1] >= 400 and a[0] != "call"] + [
        a for a in load.answers if a[0] == "call" and a[1] >= 500
    ]
    print(
        f"database restart: {len(load.answers)} requests, {before_outage} before the outage, "
        f"{len(failures)} refused while it lasted, {len(load.issued)} tickets and "
        f"{len(load.applications)} applications acknowledged"
    )
    assert failures, "no request reached the service while the database was down"
    assert all(
        status == 503 and ctype == "application/problem+json" and code == "database_unavailable"
        for _what, status, ctype, code in failures
    ), sorted(set(failures))
    assert any(a[1] == 201 for a in load.answers[stopped_at:]), "the service did not recover"
    assert seen == list(range(seen[0], seen[-1] + 1))
    assert current >= seen[0] + len(load.issued)  # every acknowledged ticket is an event
    assert replayed == list(range(seen[-1] + 1, current + 1))
    reconnects = [
        line
        for line in metrics.splitlines()
        if line.startswith("madoguchi_listener_reconnects_total")
    ]
    assert reconnects and float(reconnects[0].split()[-1]) >= 1
