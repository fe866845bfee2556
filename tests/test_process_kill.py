"""Two API processes with displays on both; one is killed with SIGKILL in the middle of the load.

Kiosks and counters drive the lobby through both processes at once, the way a load balancer
spreads them; at a random moment one process is killed. Requests that were in flight to it fail
at the client and are retried against the survivor (issues with their Idempotency-Key, counters
by reloading their board). Every display on the survivor must receive every seq once and in
order on its one connection; the displays of the dead process reconnect to the survivor, resume
from their last seq and end just as complete. The run prints its seed: MADOGUCHI_KILL_SEED=N
replays the same kill moment, victim and pacing.
"""

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import LobbyEvent, Ticket
from tests.support import Office, seed
from tests.support_process import ServerUrl, server_process

DISPLAYS_PER_PROCESS = 4
# The watchdog would heal a broken LISTEN relay within its interval; set far beyond the test's
# waits so that only the NOTIFY path and the displays' own gap filling deliver events here.
SERVER_ENV = {"MADOGUCHI_DISPLAY__WATCHDOG_S": "120"}


class Balancer:
    """Spreads requests over the processes still alive, as a load balancer with health checks."""

    def __init__(self, servers: list[ServerUrl], office: Office, rng: random.Random) -> None:
        self.servers = servers
        self._rng = rng
        self._clients = {
            (url, role): httpx2.AsyncClient(
                base_url=url + "/api/v1",
                timeout=10,
                headers={"Authorization": f"Bearer {office.token(role)}"},
            )
            for url in servers
            for role in ("kiosk", "counter", "display")
        }
        self.sent: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.failed_at_client = 0
        self.unexpected: list[tuple[str, int, str]] = []

    def alive(self) -> list[ServerUrl]:
        return [url for url in self.servers if url.process.poll() is None]

    def pick(self) -> ServerUrl:
        alive = self.alive()
        assert alive, "no process left"
        return self._rng.choice(alive)

    async def request(
        self, method: str, role: str, path: str, **kwargs: Any
    ) -> httpx2.Response | None:
        """One attempt on one live process; None when it failed at the client (process gone)."""
        url = self.pick()
        self.sent[url] += 1
        self.in_flight[url] += 1
        try:
            return await self._clients[(url, role)].request(method, path, **kwargs)
        except httpx2.TransportError:
            self.failed_at_client += 1
            return None
        finally:
            self.in_flight[url] -= 1

    def note_unexpected(self, what: str, response: httpx2.Response) -> None:
        self.unexpected.append((what, response.status_code, response.text[:300]))

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@dataclass
class Acknowledged:
    issued: dict[str, str] = field(default_factory=dict)  # number → category
    called: list[tuple[str, str]] = field(default_factory=list)  # (number, counter)
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    retries: int = 0


@dataclass
class Link:
    """One websocket connection of a display."""

    process: ServerUrl
    snapshot_seq: int
    resumed_after: int | None
    raw: list[int] = field(default_factory=list)


class Display:
    """A lobby display speaking the protocol: snapshot, events by seq, resume after a reconnect.

    It keeps the lobby state the way display/display.js does, so the end state can be compared
    with a fresh snapshot.
    """

    def __init__(self, name: str, home: ServerUrl, balancer: Balancer, office: Office) -> None:
        self.name = name
        self.home = home
        self._balancer = balancer
        self._office = office
        self.links: list[Link] = []
        self.first: int | None = None
        self.last = 0
        self.events: dict[int, dict[str, Any]] = {}
        self.called: dict[str, tuple[str, str]] = {}
        self.queues: dict[str, tuple[int, int]] = {}
        self.target: int | None = None
        self.caught_up = asyncio.Event()
        self.ready = asyncio.Event()

    def ws_url(self, base: str) -> str:
        return (
            base.replace("http", "ws")
            + f"/api/v1/ws/offices/{self._office.id}/lobby?token={self._office.token('display')}"
        )

    def set_target(self, seq: int) -> None:
        self.target = seq
        if self.last >= seq:
            self.caught_up.set()

    def _apply_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.first = self.last = snapshot["seq"]
        self.called = {c["number"]: (c["counter_id"], c["status"]) for c in snapshot["called"]}
        self.queues = {
            q["category_id"]: (q["waiting"], q["estimate_min"]) for q in snapshot["queues"]
        }

    def _apply_event(self, event: dict[str, Any]) -> None:
        data = event["data"]
        for q in data.get("queues", []):
            self.queues[q["category_id"]] = (q["waiting"], q["estimate_min"])
        number = data["number"]
        if event["type"] in ("ticket.called", "ticket.recalled"):
            self.called[number] = (data["counter_id"], "called")
        elif event["type"] == "ticket.started" and number in self.called:
            self.called[number] = (self.called[number][0], "serving")
        elif event["type"] in (
            "ticket.finished",
            "ticket.no_show",
            "ticket.cancelled",
            "ticket.transferred",
        ):
            self.called.pop(number, None)
        self.events[event["seq"]] = event
        self.last = event["seq"]

    async def _open(self) -> tuple[ClientConnection, Link]:
        while True:
            process = self.home if not self.links else self._balancer.pick()
            try:
                socket = await connect(self.ws_url(process), open_timeout=5)
            except (OSError, InvalidStatus, TimeoutError):
                if not self.links:
                    raise
                await asyncio.sleep(0.05)
                continue
            snapshot = json.loads(await socket.recv())
            assert snapshot["type"] == "lobby.snapshot"
            if not self.links:
                self._apply_snapshot(snapshot)
                link = Link(process, snapshot["seq"], None)
            else:
                # Keep the state built so far and ask for exactly what this display missed.
                await socket.send(json.dumps({"type": "resume", "after_seq": self.last}))
                link = Link(process, snapshot["seq"], self.last)
            self.links.append(link)
            return socket, link

    async def run(self) -> None:
        while True:
            try:
                socket, link = await self._open()
            except ConnectionClosed:
                continue
            self.ready.set()
            try:
                async for text in socket:
                    message = json.loads(text)
                    if message["type"] == "heartbeat":
                        continue
                    if message["type"] == "lobby.snapshot":
                        raise AssertionError(
                            f"{self.name}: unexpected snapshot at seq {message['seq']}"
                        )
                    link.raw.append(message["seq"])
                    if message["seq"] == self.last + 1:
                        self._apply_event(message)
                        if self.target is not None and self.last >= self.target:
                            self.caught_up.set()
            except ConnectionClosed:
                pass
            await asyncio.sleep(0.05)


async def drive_kiosk(
    balancer: Balancer,
    office: Office,
    prefix: str,
    acknowledged: Acknowledged,
    stop: asyncio.Event,
    rng: random.Random,
) -> None:
    """Issue tickets; each attempt keeps its Idempotency-Key, so a retry never issues twice."""
    n = 0
    while not stop.is_set():
        n += 1
        key = f"kill-{prefix}-{n}"
        deadline = time.monotonic() + 30
        while True:
            response = await balancer.request(
                "POST",
                "kiosk",
                f"/offices/{office.id}/tickets",
                json={"category": office.category(prefix)},
                headers={"Idempotency-Key": key},
            )
            if response is not None and response.status_code == 201:
                acknowledged.issued[response.json()["number"]] = office.category(prefix)
                break
            if response is not None:
                balancer.note_unexpected(f"issue {key}", response)
            assert time.monotonic() < deadline, f"issue {key} never acknowledged"
            acknowledged.retries += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0.0, 0.04))


async def counter_board(balancer: Balancer, counter_id: str) -> dict[str, Any] | None:
    """The counter's current ticket, read again after a request whose outcome is unknown."""
    while True:
        response = await balancer.request("GET", "counter", f"/counters/{counter_id}")
        if response is not None and response.status_code == 200:
            current: dict[str, Any] | None = response.json()["current"]
            return current
        await asyncio.sleep(0.02)


async def drive_counter(
    balancer: Balancer,
    counter_id: str,
    acknowledged: Acknowledged,
    stop: asyncio.Event,
    rng: random.Random,
) -> None:
    """Call, start and finish residents; after a failed request, reload the board and go on."""
    ticket: dict[str, Any] | None = None
    while not stop.is_set():
        if ticket is None:
            response = await balancer.request(
                "POST", "counter", f"/counters/{counter_id}/call-next"
            )
            if response is not None and response.status_code == 204:
                await asyncio.sleep(0.02)
                continue
            if response is not None and response.status_code == 200:
                ticket = response.json()
                acknowledged.called.append((ticket["number"], counter_id))
                continue
        else:
            step = "start" if ticket["status"] == "called" else "finish"
            response = await balancer.request("POST", "counter", f"/tickets/{ticket['id']}/{step}")
            if response is not None and response.status_code == 200:
                if step == "start":
                    acknowledged.started.append(ticket["number"])
                    ticket = response.json()
                else:
                    acknowledged.finished.append(ticket["number"])
                    ticket = None
                await asyncio.sleep(rng.uniform(0.0, 0.03))
                continue
        if response is not None:
            balancer.note_unexpected(f"counter {counter_id}", response)
        acknowledged.retries += 1
        ticket = await counter_board(balancer, counter_id)


def server_errors(logs: list[Path]) -> list[str]:
    lines = [
        line
        for log in logs
        if log.exists()
        for line in log.read_text(errors="replace").splitlines()
    ]
    return [line[:500] for line in lines if "error" in line.lower()][:20]


async def reach(
    displays: list[Display], tasks: list[asyncio.Task[None]], seq: int, seconds: float
) -> None:
    for display in displays:
        display.caught_up.clear()
        display.set_target(seq)
    try:
        await asyncio.wait_for(asyncio.gather(*(d.caught_up.wait() for d in displays)), seconds)
    except TimeoutError:
        behind = {d.name: d.last for d in displays if d.last < seq}
        failed = [t.exception() for t in tasks if t.done()]
        raise AssertionError(
            f"displays short of seq {seq} after {seconds} s: {behind} {failed}"
        ) from None


def check_links(display: Display, target: int) -> None:
    """Each connection's raw stream: contiguous, and after a resume exactly the missed events on."""
    for link in display.links:
        raw = link.raw
        if link.resumed_after is None:
            assert raw == list(range(link.snapshot_seq + 1, link.snapshot_seq + 1 + len(raw))), (
                f"{display.name}: gap or duplicate on its first connection: {raw}"
            )
            continue
        # Live events may arrive between the snapshot and the resume; then the replay from
        # resumed_after + 1 runs unbroken to the end.
        after = link.resumed_after
        cut = next(
            (
                i
                for i in range(len(raw) + 1)
                if raw[i:] == list(range(after + 1, after + 1 + len(raw) - i))
            ),
            None,
        )
        assert cut is not None, f"{display.name}: resumed after {after} but got {raw}"
        live = raw[:cut]
        assert live == list(range(link.snapshot_seq + 1, link.snapshot_seq + 1 + len(live))), (
            f"{display.name}: before its resume was served: {live}"
        )
        assert (raw[cut:] or [after])[-1] == target, (
            f"{display.name}: resume ended short of {target}"
        )


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_displays_on_the_survivor_miss_nothing_when_the_other_process_is_killed(
    clean_db: str, tmp_path: Path
) -> None:
    seed_value = int(os.environ.get("MADOGUCHI_KILL_SEED") or random.randrange(2**32))
    print(f"process kill: MADOGUCHI_KILL_SEED={seed_value}")
    rng = random.Random(seed_value)
    office = Office(await seed(clean_db))
    started = time.monotonic()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    print(f"process kill: server logs in {tmp_path}")
    with (
        server_process(clean_db, log_path=logs[0], **SERVER_ENV) as first,
        server_process(clean_db, log_path=logs[1], **SERVER_ENV) as second,
    ):
        servers = [first, second]
        balancer = Balancer(servers, office, rng)
        displays = [
            Display(f"display {i + 1} on {url}", url, balancer, office)
            for url in servers
            for i in range(DISPLAYS_PER_PROCESS)
        ]
        tasks = [asyncio.create_task(d.run()) for d in displays]
        workers: list[asyncio.Task[None]] = []
        try:
            await asyncio.wait_for(asyncio.gather(*(d.ready.wait() for d in displays)), 10)
            # The relay itself: a ticket issued through each process reaches the displays on
            # both before any load (the watchdog is out of play, so only NOTIFY can do it).
            acknowledged = Acknowledged()
            for n, url in enumerate(servers, start=1):
                async with httpx2.AsyncClient(base_url=url + "/api/v1", timeout=10) as kiosk:
                    response = await kiosk.post(
                        f"/offices/{office.id}/tickets",
                        json={"category": office.category("A")},
                        headers={"Authorization": f"Bearer {office.token('kiosk')}"},
                    )
                assert response.status_code == 201, response.text
                acknowledged.issued[response.json()["number"]] = office.category("A")
                await reach(displays, tasks, n, 5)

            stop = asyncio.Event()
            workers += [
                asyncio.create_task(drive_kiosk(balancer, office, p, acknowledged, stop, rng))
                for p in "ABC"
            ]
            workers += [
                asyncio.create_task(
                    drive_counter(balancer, office.counter(label), acknowledged, stop, rng)
                )
                for label in ("1", "2", "3", "4")
            ]
            await asyncio.sleep(rng.uniform(1.5, 4.0))
            victim = rng.choice(servers)
            survivor = next(url for url in servers if url != victim)
            for _ in range(1000):  # strike while it has requests to answer
                if balancer.in_flight[victim]:
                    break
                await asyncio.sleep(0.002)
            sent_before_kill = dict(balancer.sent)
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(5)
            await asyncio.sleep(3.0)  # the load goes on through the survivor
            stop.set()
            done, pending = await asyncio.wait(workers, timeout=40)
            assert not pending, f"load still running 40 s after stop: {pending}"
            for worker in done:
                worker.result()

            async with httpx2.AsyncClient(base_url=survivor + "/api/v1", timeout=10) as reader:
                response = await reader.get(
                    f"/offices/{office.id}/lobby",
                    headers={"Authorization": f"Bearer {office.token('display')}"},
                )
            assert response.status_code == 200
            final = response.json()
            await reach(displays, tasks, final["seq"], 30)
        finally:
            for task in tasks + workers:
                task.cancel()
            await asyncio.gather(*tasks, *workers, return_exceptions=True)
            await balancer.close()

    engine = create_engine(clean_db)
    async with make_sessionmaker(engine)() as session:
        history = (
            (
                await session.execute(
                    select(LobbyEvent)
                    .where(LobbyEvent.office_id == office.id)
                    .order_by(LobbyEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        tickets = (
            await session.execute(
                select(func.count()).select_from(Ticket).where(Ticket.office_id == office.id)
            )
        ).scalar_one()
    await engine.dispose()

    target = final["seq"]
    assert sent_before_kill.get(victim, 0) > 0 and sent_before_kill.get(survivor, 0) > 0
    assert balancer.sent[survivor] > sent_before_kill[survivor]
    assert [e.seq for e in history] == list(range(1, target + 1))
    by_seq = {e.seq: {"type": e.type, "data": e.data} for e in history}
    expected_called = {c["number"]: (c["counter_id"], c["status"]) for c in final["called"]}
    expected_queues = {q["category_id"]: (q["waiting"], q["estimate_min"]) for q in final["queues"]}
    for display in displays:
        assert display.first == 0
        assert sorted(display.events) == list(range(1, target + 1)), f"{display.name} missed events"
        assert {
            s: {"type": e["type"], "data": e["data"]} for s, e in display.events.items()
        } == by_seq
        check_links(display, target)
        if display.home == survivor:
            assert len(display.links) == 1, f"{display.name} was disconnected"
        else:
            assert len(display.links) >= 2 and all(
                link.process == survivor for link in display.links[1:]
            )
        assert display.called == expected_called, (
            f"{display.name} shows other calls than the snapshot"
        )
        # Waiting counts exactly. A wait is the lobby replayed at its moment (the time residents
        # have spent at the counters counts), and the snapshot is read seconds after the last
        # event: its minutes may have moved by one since.
        assert display.queues.keys() == expected_queues.keys()
        for category, (waiting, minutes) in expected_queues.items():
            shown_waiting, shown_minutes = display.queues[category]
            close = shown_minutes == minutes or (
                shown_minutes is not None
                and minutes is not None
                and abs(shown_minutes - minutes) <= 1
            )
            assert shown_waiting == waiting and close, (
                f"{display.name} shows other queue figures than the snapshot: "
                f"{display.queues[category]} against {(waiting, minutes)}"
            )

    # Everything acknowledged is in the history, once; nothing was issued or called twice.
    of_type = {
        kind: Counter(e.data["number"] for e in history if e.type == kind)
        for kind in ("ticket.issued", "ticket.called", "ticket.started", "ticket.finished")
    }
    assert set(of_type["ticket.issued"]) == set(acknowledged.issued) and tickets == len(
        acknowledged.issued
    )
    assert max(of_type["ticket.issued"].values()) == 1
    assert max(of_type["ticket.called"].values(), default=1) == 1
    calls = {e.data["number"]: e.data["counter_id"] for e in history if e.type == "ticket.called"}
    assert all(calls.get(number) == counter for number, counter in acknowledged.called)
    assert set(acknowledged.started) <= set(of_type["ticket.started"])
    assert set(acknowledged.finished) <= set(of_type["ticket.finished"])
    # The waiting figures agree with the history: issued and not yet called, per category.
    waiting = Counter(acknowledged.issued[n] for n in acknowledged.issued if n not in calls)
    assert {c: w for c, (w, _) in expected_queues.items() if w} == dict(waiting)
    assert not [u for u in balancer.unexpected if u[1] >= 500], (
        balancer.unexpected,
        server_errors(logs),
    )

    print(
        f"process kill: 1 SIGKILL of 2 processes after {sum(sent_before_kill.values())} requests; "
        f"{len(acknowledged.issued)} issues, {len(acknowledged.called)} calls, "
        f"{len(acknowledged.started)} starts, "
        f"{len(acknowledged.finished)} finishes acknowledged and found; "
        f"{balancer.failed_at_client} requests failed "
        f"at the client, {acknowledged.retries} retried; "
        f"{target} events checked on {len(displays)} displays "
        f"({sum(len(d.links) - 1 for d in displays)} resumed); {time.monotonic() - started:.1f} s"
    )
