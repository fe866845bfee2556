"""PostgreSQL restarts under load: clean 503s meanwhile, then the service recovers by itself."""

import asyncio
import json
import subprocess
from pathlib import Path

import httpx2
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import Office, seed
from tests.support_process import server_process


def cluster(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                   check=True, capture_output=True, timeout=60)


async def drain(display, seen: list[int], seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Record event seqs until the connection closes or stays quiet for ``seconds``."""
    try:
        while True:
            message = json.loads(await asyncio.wait_for(display.recv(), seconds))
            if message["type"] != "heartbeat":
                seen.append(message["seq"])
    except (ConnectionClosed, TimeoutError):
        return


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_database_restart_answers_503_then_recovers_and_displays_resume(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    with server_process(clean_db) as base:
        api = base + "/api/v1"
        kiosk = {"Authorization": f"Bearer {office.token('kiosk')}"}
        counter = {"Authorization": f"Bearer {office.token('counter')}"}
        ws_url = base.replace("http", "ws") + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        seen: list[int] = []
        async with httpx2.AsyncClient(base_url=api, timeout=10) as client:
            async with connect(ws_url) as display:
                seen.append(json.loads(await display.recv())["seq"])
                issued = await client.post(f"/offices/{office.id}/tickets", json={"category": office.category("A")},
                                           headers=kiosk)
                assert issued.status_code == 201
                cluster("stop")
                try:
                    during = await client.post(f"/offices/{office.id}/tickets",
                                               json={"category": office.category("A")}, headers=kiosk)
                    assert during.status_code == 503
                    assert during.headers["content-type"] == "application/problem+json"
                    assert during.json()["code"] == "database_unavailable"
                    assert (await client.get(base + "/readyz")).status_code == 503
                    assert (await client.get(base + "/healthz")).status_code == 200
                finally:
                    cluster("start")
                for _ in range(100):
                    response = await client.post(f"/offices/{office.id}/tickets",
                                                 json={"category": office.category("A")}, headers=kiosk)
                    if response.status_code == 201:
                        break
                    await asyncio.sleep(0.2)
                assert response.status_code == 201
                assert (await client.post(f"/counters/{office.counter('1')}/call-next", headers=counter)).status_code == 200
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
    assert seen == list(range(seen[0], seen[-1] + 1))
    assert current == seen[0] + 3  # two tickets issued and one called
    assert replayed == list(range(seen[-1] + 1, current + 1))
    reconnects = [line for line in metrics.splitlines() if line.startswith("madoguchi_listener_reconnects_total")]
    assert reconnects and float(reconnects[0].split()[-1]) >= 1
