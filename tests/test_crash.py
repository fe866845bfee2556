"""SIGKILL in the middle of intake, claims and lobby traffic: nothing acknowledged is lost."""

import asyncio
import json
import os
import random
import signal

import httpx2
from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, LobbyChannel, Task
from tests.factories import status_report
from tests.support import Office, free_port, seed
from tests.support_process import server_process


async def traffic(base: str, office: Office, acknowledged: list[str], stop: asyncio.Event) -> None:
    """Intake, operators holding tasks, kiosks and counters, until the server dies."""
    api = base + "/api/v1"

    def client(role: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=api, timeout=5, headers={"Authorization": f"Bearer {office.token(role)}"}
        )

    async def intake() -> None:
        async with client("intake") as c:
            n = 0
            while not stop.is_set():
                n += 1
                response = await c.post(
                    "/applications", json=status_report(f"CRASH-{random.random()}-{n}")
                )
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

    async def operator() -> None:
        async with client("operator") as c:
            while not stop.is_set():
                await c.post("/work/claim", json={"kinds": ["entry"]})  # and never submits: it dies

    async def lobby() -> None:
        async with client("kiosk") as kiosk, client("counter") as counter:
            while not stop.is_set():
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
                await counter.post(f"/counters/{office.counter('1')}/call-next")

    async def guarded(work) -> None:  # type: ignore[no-untyped-def]
        try:
            await work()
        except (httpx2.TransportError, httpx2.HTTPError):
            stop.set()

    await asyncio.gather(guarded(intake), guarded(operator), guarded(lobby))


async def test_sigkill_loses_nothing_acknowledged(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    port = free_port()
    acknowledged: list[str] = []
    seen: list[int] = []
    with server_process(clean_db, port=port, MADOGUCHI_QUEUE__LEASE_S="1") as base:
        ws_url = (
            base.replace("http", "ws")
            + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        )
        async with connect(ws_url) as display:
            seen.append(json.loads(await display.recv())["seq"])
            stop = asyncio.Event()
            load = asyncio.create_task(traffic(base, office, acknowledged, stop))
            # A random moment once the traffic is well under way (seeded; printed for a replay).
            kill_seed = int(os.environ.get("MADOGUCHI_CRASH_SEED") or random.randrange(1 << 30))
            print(
                f"crash seed {kill_seed} (MADOGUCHI_CRASH_SEED={kill_seed} replays the kill moment)"
            )
            async with asyncio.timeout(60):
                while len(acknowledged) < 20 or len(seen) < 1:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(random.Random(kill_seed).uniform(0.0, 1.5))
            base.process.send_signal(signal.SIGKILL)
            print(f"killed after {len(acknowledged)} acknowledged applications")
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(display.recv(), 5))
                    if message["type"] != "heartbeat":
                        seen.append(message["seq"])
            except (ConnectionClosed, TimeoutError):
                pass
            stop.set()
            await load
    assert acknowledged, "no traffic before the kill"
    assert seen == list(range(seen[0], seen[-1] + 1))
    # Restarted with the usual lease, so the claims below do not expire while they are counted.
    with server_process(clean_db, port=port) as base:
        engine = create_engine(clean_db)
        async with make_sessionmaker(engine)() as session:
            stored = set((await session.execute(select(Application.id))).scalars())
            entry_tasks = dict(
                (
                    await session.execute(
                        select(Task.application_id, func.count())
                        .where(Task.kind == "entry")
                        .group_by(Task.application_id)
                    )
                ).all()
            )
            channel_seq = (
                await session.execute(
                    select(LobbyChannel.seq).where(LobbyChannel.office_id == office.id)
                )
            ).scalar_one()
        await engine.dispose()
        assert set(acknowledged) <= stored
        assert set(entry_tasks) == stored and set(entry_tasks.values()) == {1}
        # Leases held by the dead operator run out and the work comes back.
        await asyncio.sleep(1.2)
        async with httpx2.AsyncClient(
            base_url=base + "/api/v1",
            headers={"Authorization": f"Bearer {office.token('operator_vendor')}"},
        ) as other:
            claimed: set[str] = set()
            while (
                response := await other.post("/work/claim", json={"kinds": ["entry"]})
            ).status_code == 200:
                assert response.json()["id"] not in claimed
                claimed.add(response.json()["id"])
        assert len(claimed) == len(stored)
        # The display resumes from its last seq: every event after it, none missing.
        ws_url = (
            base.replace("http", "ws")
            + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        )
        async with connect(ws_url) as display:
            snapshot = json.loads(await display.recv())
            assert snapshot["seq"] == channel_seq
            await display.send(json.dumps({"type": "resume", "after_seq": seen[-1]}))
            replayed = []
            while len(replayed) < channel_seq - seen[-1]:
                message = json.loads(await asyncio.wait_for(display.recv(), 5))
                if message["type"] != "heartbeat":
                    replayed.append(message["seq"])
        assert replayed == list(range(seen[-1] + 1, channel_seq + 1))
