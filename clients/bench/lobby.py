"""The lobby scenario: calls reaching N displays, ticket issue and call rates, and the soak.

For each database (SQLite, PostgreSQL) and each number of API processes (2 only on
PostgreSQL, sharing the database; the displays are split between them):

* **Latency rounds.** A display swarm (display_swarm.py, its own process) connects N lobby
  websockets. K counters call (``POST /counters/{id}/call-next``) on a fixed schedule, one call
  every ``interval`` seconds, and a kiosk issues a ticket half-way between calls; with two
  processes the counters and the kiosk alternate between them. The driver records
  ``time.monotonic()`` when each call's response arrives, with the ticket number; the swarm
  records when each display receives the ``ticket.called`` event. Latency per delivery is
  receipt − response (CLOCK_MONOTONIC is shared by the processes on this host); every display's
  seq stream is checked for contiguity (missed, out-of-order, resyncs, drops).
* **Baseline rounds**, same run, same swarm code: a bare ``websockets`` server per process
  (baseline_ws.py) broadcasting the same number of ~same-size events at the same cadence; the
  stand-in counters get an acknowledgement in place of the API's response.
* **Issue and call rate.** With no display connected: a burst of concurrent kiosk POSTs
  (``issue_concurrency`` clients), then concurrent call-next; the baseline is the same load on a
  bare ASGI app under the same uvicorn (the HTTP ceiling of this machine).
* **Plain INSERT** of the same ticket row (plain_ticket.py), right after the bursts, with the
  same driver and pool, one process per server process and the same number of kiosks, each
  row its own transaction: the issue rate is printed as a fraction of it.
* **Soak** (``--soak-minutes M``): one process, N displays, counters that call, start and
  finish, a kiosk that issues, for M minutes; RSS after warm-up against RSS at the end.

Sizes (``--opt name=value`` overrides any of them): see ``QUICK`` and ``FULL``.
"""

import asyncio
import itertools
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from websockets.asyncio.client import ClientConnection, connect

from clients.bench.display_swarm import summarise
from clients.bench.http1 import Answer, HttpError, LeanClient
from clients.bench.procstat import ProcSampler, Window, host_mark, host_since
from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    Target,
    free_port,
    recreate_database,
    register,
    seed_demo,
    servers,
    spawn,
    stop_process,
    tail,
)

P99_TARGET_MS = {1: 100.0, 2: 150.0}
# Issue #20: call→display p99 at most the bare broadcast's + 10 ms (1.0× + 10 ms), and
# 5,000 displays on two processes within 250 ms.
P99_OVER_BASELINE_MS = 10.0
LARGE_DISPLAYS, LARGE_P99_TARGET_MS = 5000, 250.0
# Issue #20: one office's kiosks, on one process and on two.
ISSUE_TARGET_PER_S = {1: 300.0, 2: 600.0}
# … and at least this fraction of a plain INSERT of the same ticket row (plain_ticket.py).
ISSUE_PLAIN_RATIO_TARGET = 0.5
SOAK_GROWTH_TARGET_PCT = 5.0


@dataclass
class Sizes:
    displays: int
    calls: int
    interval_s: float
    rounds: int
    processes: list[int]
    issues: int
    issue_concurrency: int
    connect_concurrency: int = 50
    soak_displays: int = 1000
    soak_interval_s: float = 1.0
    soak_collect_s: float = 60.0
    soak_warmup_s: float = 300.0
    wait_quiet_s: float = 0.0  # > 0: before each round, wait up to this long for a quiet host
    burst_rounds: int = 0  # issue bursts, each beside its plain INSERT; 0: as many as rounds (≥ 1)
    quiet_pct: float = 25.0


QUICK = Sizes(
    displays=200,
    calls=30,
    interval_s=0.2,
    rounds=1,
    processes=[1],
    issues=300,
    issue_concurrency=8,
    soak_displays=200,
    soak_collect_s=20.0,
    soak_warmup_s=60.0,
)
FULL = Sizes(
    displays=1000,
    calls=200,
    interval_s=0.25,
    rounds=3,
    processes=[1, 2],
    issues=2000,
    issue_concurrency=8,
)


def sizes_for(options: BenchOptions) -> Sizes:
    chosen = QUICK if options.quick else FULL
    changes = {f.name: options.param(f.name, getattr(chosen, f.name)) for f in fields(Sizes)}
    if options.rounds is not None:
        changes["rounds"] = options.rounds
    return replace(chosen, **changes)


@dataclass
class Demo:
    data: dict[str, Any]
    database: str | None = None  # the PostgreSQL database's name, for its backends' CPU

    @property
    def office(self) -> dict[str, Any]:
        return self.data["offices"][0]

    @property
    def office_id(self) -> str:
        return str(self.office["id"])

    def token(self, role: str) -> str:
        return str(self.data["tokens"][role])

    @property
    def counters(self) -> list[str]:
        return [c["id"] for c in self.office["counters"]]

    def category(self, prefix: str) -> str:
        return next(c["id"] for c in self.office["categories"] if c["prefix"] == prefix)

    @property
    def categories(self) -> list[str]:
        return [c["id"] for c in self.office["categories"]]


# -- child processes: swarm and baseline servers ------------------------------------------


def _spawn_logged(args: list[str], log_path: Path, **kwargs: Any) -> subprocess.Popen[Any]:
    with open(log_path, "ab") as log:
        if kwargs.get("stdout") == "log":
            kwargs["stdout"] = log
        return spawn(args, stderr=log, **kwargs)


async def _readline(process: subprocess.Popen[Any], wait_s: float) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), wait_s)
    if not line:
        raise RuntimeError(f"child {process.args} ended without answering (exit {process.poll()})")
    return json.loads(line)


class SwarmProcess:
    def __init__(
        self,
        urls: list[str],
        clients: int,
        connect_concurrency: int,
        log_path: Path,
        lifetime_s: float,
    ) -> None:
        self.config = {"urls": urls, "clients": clients, "connect_concurrency": connect_concurrency}
        self.log_path = log_path
        self.lifetime_s = lifetime_s
        self.process: subprocess.Popen[Any] | None = None
        self.sampler: ProcSampler | None = None

    async def start(self, wait_s: float = 240.0) -> dict[str, Any]:
        self.process = _spawn_logged(
            [sys.executable, "-m", "clients.bench.display_swarm", str(self.lifetime_s)],
            self.log_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.sampler = ProcSampler(self.process.pid).start()
        self._send(self.config)
        try:
            return await _readline(self.process, wait_s)
        except Exception:
            raise RuntimeError(f"display swarm failed: {tail(self.log_path)}") from None

    def _send(self, payload: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()

    async def collect(
        self, final_seq: int, t0: dict[str, float], timeout_s: float, close: bool
    ) -> dict[str, Any]:
        assert self.process is not None
        self._send(
            {
                "cmd": "collect",
                "final_seq": final_seq,
                "t0": t0,
                "timeout_s": timeout_s,
                "close": close,
            }
        )
        return await _readline(self.process, timeout_s + 120)

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.process is not None:
            if self.process.stdin is not None:
                try:
                    self.process.stdin.close()
                except OSError:
                    pass
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
            stop_process(self.process)


class BaselineServer:
    """baseline_ws.py in ``ws`` or ``http`` mode, sampled like the product's servers."""

    def __init__(self, mode: str, log_path: Path) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[Any] | None = None
        self.sampler: ProcSampler | None = None

    async def start(self) -> "BaselineServer":
        self.process = _spawn_logged(
            [
                sys.executable,
                "-m",
                "clients.bench.baseline_ws",
                self.mode,
                "--port",
                str(self.port),
            ],
            self.log_path,
            stdout=subprocess.PIPE if self.mode == "ws" else "log",
            text=True,
        )
        if self.mode == "ws":
            await _readline(self.process, 30)
        else:
            deadline = time.monotonic() + 30
            async with httpx2.AsyncClient() as client:
                while True:
                    try:
                        if (await client.get(self.url + "/healthz", timeout=2)).status_code == 200:
                            break
                    except httpx2.TransportError:
                        pass
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError(f"baseline server did not start: {tail(self.log_path)}")
                    await asyncio.sleep(0.1)
        self.sampler = ProcSampler(self.process.pid).start()
        return self

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.process is not None:
            stop_process(self.process)


# -- load ---------------------------------------------------------------------------------


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _lean_client(base_url: str, token: str) -> LeanClient:
    """For the timed bursts: a client that leaves the cores to the server it measures."""
    return LeanClient(
        base_url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _client(base_url: str, token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=base_url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def issue_some(
    url: str, demo: Demo, per_category: dict[str, int], concurrency: int = 4
) -> int:
    """Top the queues up before a round (not measured)."""
    plan = [cat for cat, n in per_category.items() for _ in range(n)]
    issued = 0

    async def worker(items: list[str]) -> None:
        nonlocal issued
        async with _client(url, demo.token("kiosk")) as kiosk:
            for category in items:
                response = await kiosk.post(
                    f"/offices/{demo.office_id}/tickets", json={"category": category}
                )
                response.raise_for_status()
                issued += 1

    await asyncio.gather(*(worker(plan[i::concurrency]) for i in range(concurrency)))
    return issued


@dataclass
class Drive:
    """What the driver saw during a paced run."""

    t0: dict[str, float] = field(default_factory=dict)  # number → monotonic time of the response
    call_ms: list[float] = field(default_factory=list)
    issue_ms: list[float] = field(default_factory=list)
    empty: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    last_call: float = 0.0

    def calls_per_s(self) -> float | None:
        span = self.last_call - self.started
        return len(self.t0) / span if self.t0 and span > 0 else None


async def drive_product(
    urls: list[str],
    demo: Demo,
    calls: int,
    interval_s: float,
    serve: bool = False,
    stop_at: float | None = None,
    drive: Drive | None = None,
) -> Drive:
    """K counters calling on a schedule (one call every interval) and a kiosk issuing between.

    With ``serve`` a counter starts and finishes its previous ticket before calling the next
    (the soak, so that called tickets do not pile up). ``calls`` may be 0 with ``stop_at``.
    """
    drive = drive or Drive()
    counters = demo.counters
    k = len(counters)
    categories = demo.categories
    drive.started = start = time.monotonic() + 0.2
    total = calls if calls > 0 else math.inf

    def slots(first: int, step: int) -> Any:
        index = first
        while index < total:
            moment = start + index * interval_s
            if stop_at is not None and moment >= stop_at:
                return
            yield index, moment
            index += step

    async def counter(position: int) -> None:
        current: str | None = None
        async with _client(urls[position % len(urls)], demo.token("counter")) as client:
            for _, moment in slots(position, k):
                await _sleep_until(moment)
                if serve and current is not None:
                    for step in ("start", "finish"):
                        response = await client.post(f"/tickets/{current}/{step}")
                        if response.status_code != 200:
                            drive.errors.append(f"{step} {response.status_code}")
                    current = None
                began = time.monotonic()
                response = await client.post(f"/counters/{counters[position]}/call-next")
                done = time.monotonic()
                if response.status_code == 200:
                    body = response.json()
                    drive.t0[body["number"]] = done
                    drive.call_ms.append((done - began) * 1000)
                    drive.last_call = max(drive.last_call, done)
                    current = body["id"]
                elif response.status_code == 204:
                    drive.empty += 1
                else:
                    drive.errors.append(f"call-next {response.status_code}")

    async def kiosk() -> None:
        clients = [_client(url, demo.token("kiosk")) for url in urls]
        try:
            for index, moment in slots(0, 1):
                await _sleep_until(moment + interval_s / 2)
                began = time.monotonic()
                response = await clients[index % len(clients)].post(
                    f"/offices/{demo.office_id}/tickets",
                    json={"category": categories[index % len(categories)]},
                )
                if response.status_code == 201:
                    drive.issue_ms.append((time.monotonic() - began) * 1000)
                else:
                    drive.errors.append(f"issue {response.status_code}")
        finally:
            for client in clients:
                await client.aclose()

    await asyncio.gather(kiosk(), *(counter(i) for i in range(k)))
    return drive


async def lobby_seq(url: str, demo: Demo) -> int:
    async with _client(url, demo.token("display")) as client:
        response = await client.get(f"/offices/{demo.office_id}/lobby")
        response.raise_for_status()
        return int(response.json()["seq"])


def _event_data(demo: Demo, number: str, counter_label: str) -> dict[str, Any]:
    """A ticket.called payload shaped like the product's (same fields, same sizes)."""
    category = demo.office["categories"][0]
    return {
        "number": number,
        "counter_id": demo.counters[0],
        "counter_label": counter_label,
        "call_count": 1,
        "queues": [
            {
                "category_id": category["id"],
                "prefix": category["prefix"],
                "name_ja": category["name_ja"],
                "name_en": category["name_en"],
                "waiting": 12,
                "estimate_min": 15,
            }
        ],
    }


async def drive_baseline(
    bases: list[BaselineServer], demo: Demo, calls: int, interval_s: float, tag: str
) -> tuple[Drive, int]:
    """The same schedule against the bare servers: every event goes to every server."""
    drive = Drive()
    k = len(demo.counters)
    drive.started = start = time.monotonic() + 0.2
    final = 0

    async def publish(
        controls: list[ClientConnection], kind: str, number: str, label: str
    ) -> float:
        nonlocal final
        text = json.dumps(
            {
                "type": kind,
                "at": datetime.now(UTC).isoformat(),
                "data": _event_data(demo, number, label),
            },
            ensure_ascii=False,
        )
        for control in controls:
            await control.send(text)
        first = math.inf
        for control in controls:
            ack = json.loads(await control.recv())
            first = min(first, time.monotonic())
            final = max(final, int(ack["seq"]))
        return first

    async def open_controls() -> list[ClientConnection]:
        return [await connect(base.ws_url + "/control", compression=None) for base in bases]

    async def counter(position: int) -> None:
        controls = await open_controls()
        try:
            for index in range(position, calls, k):
                await _sleep_until(start + index * interval_s)
                number = f"{tag}-{index:04d}"
                began = time.monotonic()
                done = await publish(controls, "ticket.called", number, str(position + 1))
                drive.t0[number] = done
                drive.call_ms.append((done - began) * 1000)
                drive.last_call = max(drive.last_call, done)
        finally:
            for control in controls:
                await control.close()

    async def kiosk() -> None:
        controls = await open_controls()
        try:
            for index in range(calls):
                await _sleep_until(start + (index + 0.5) * interval_s)
                began = time.monotonic()
                await publish(controls, "ticket.issued", f"{tag}-i{index:04d}", "")
                drive.issue_ms.append((time.monotonic() - began) * 1000)
        finally:
            for control in controls:
                await control.close()

    await asyncio.gather(kiosk(), *(counter(i) for i in range(k)))
    return drive, final


@dataclass
class Burst:
    ok: int = 0
    other: int = 0
    errors: list[str] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def per_s(self) -> float | None:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 and self.ok else None


async def burst(
    urls: list[str], token: str, count: int, concurrency: int, request: Any, ok_status: int
) -> Burst:
    """``count`` requests from ``concurrency`` clients (each its own connection), as fast as
    they are answered; ``request(client, worker, index)`` sends one."""
    result = Burst()
    counter = itertools.count()
    clients = [_lean_client(urls[w % len(urls)], token) for w in range(concurrency)]
    try:
        for w, client in enumerate(clients):  # open the connections, warm the paths
            for j in range(3):
                await request(client, w, -1 - j)

        async def worker(w: int) -> None:
            client = clients[w]
            while (index := next(counter)) < count:
                began = time.monotonic()
                try:
                    response = await request(client, w, index)
                except HttpError as error:
                    result.errors.append(type(error.__cause__ or error).__name__)
                    continue
                result.ms.append((time.monotonic() - began) * 1000)
                if response.status_code == ok_status:
                    result.ok += 1
                else:
                    result.other += 1
                    if response.status_code >= 400:
                        result.errors.append(str(response.status_code))

        started = time.monotonic()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        result.elapsed_s = time.monotonic() - started
    finally:
        for client in clients:
            await client.aclose()
    return result


async def issue_and_call_bursts(
    urls: list[str], demo: Demo, count: int, concurrency: int
) -> tuple[Burst, Burst]:
    categories = demo.categories
    counters = demo.counters

    async def issue(client: LeanClient, w: int, index: int) -> Answer:
        return await client.post(
            f"/offices/{demo.office_id}/tickets",
            json={"category": categories[(index + w) % len(categories)]},
        )

    async def call(client: LeanClient, w: int, index: int) -> Answer:
        return await client.post(f"/counters/{counters[(index + w) % len(counters)]}/call-next")

    issued = await burst(urls, demo.token("kiosk"), count, concurrency, issue, 201)
    called = await burst(urls, demo.token("counter"), int(count * 0.8), concurrency, call, 200)
    return issued, called


async def plain_insert_burst(
    options: BenchOptions, url: str, demo: Demo, count: int, concurrency: int, processes: int
) -> dict[str, Any]:
    """``count`` plain INSERTs of a kiosk press's ticket row, ``concurrency`` at a time split
    over ``processes`` processes (as the kiosks are over the servers); rows per second from the
    first process's start to the last one's end."""
    children: list[subprocess.Popen[Any]] = []
    try:
        for index in range(processes):
            child = _spawn_logged(
                [sys.executable, "-m", "clients.bench.plain_ticket"],
                options.workdir / f"plain-ticket-{index}.log",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            children.append(child)
            share = len(range(index, concurrency, processes))
            job = {
                "url": url,
                "rows": len(range(index, count, processes)),
                "concurrency": max(1, share),
                "office_id": demo.office_id,
                "category_id": demo.category("A"),
                "municipality_code": demo.data["municipality"],
                "first_sequence": 1 + index * (count + concurrency + 10),
            }
            assert child.stdin is not None
            child.stdin.write(json.dumps(job) + "\n")
            child.stdin.flush()
        for child in children:
            await _readline(child, 60)
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        done = [await _readline(child, 600) for child in children]
    finally:
        for child in children:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                pass
            stop_process(child)
    stored = sum(int(d["stored"]) for d in done)
    span = max(d["ended"] for d in done) - min(d["started"] for d in done)
    return {"per_s": stored / span if span > 0 else None, "stored": stored, "elapsed_s": span}


# -- profiling and a quiet host -----------------------------------------------------------


class Profiler:
    """``--opt pyspy=DIR``: py-spy records each product server (raw stacks, flamegraph.pl
    input) while a round or a burst runs. Does nothing when the option is absent."""

    def __init__(self, options: BenchOptions, pids: list[int], label: str) -> None:
        folder = options.params.get("pyspy")
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.processes: list[subprocess.Popen[Any]] = []
        if not folder or not Path(binary).exists():
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        for index, pid in enumerate(pids):
            self.processes.append(
                spawn(
                    [
                        binary,
                        "record",
                        "-p",
                        str(pid),
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "--nonblocking",
                        "-o",
                        str(Path(folder) / f"{label}-server{index}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                pass
            stop_process(process)


async def wait_for_quiet_host(options: BenchOptions, sizes: Sizes) -> float:
    """With ``wait_quiet_s`` > 0, wait (at most that long) until the rest of the machine uses
    less than ``quiet_pct`` % of a core, measured over 2 s while our servers idle. Returns the
    last measured load."""
    deadline = time.monotonic() + sizes.wait_quiet_s
    while True:
        before = host_mark()
        await asyncio.sleep(2.0)
        load = host_since(before, 0.0)["other_pct"]
        if sizes.wait_quiet_s <= 0 or load < sizes.quiet_pct or time.monotonic() > deadline:
            if sizes.wait_quiet_s > 0 and load >= sizes.quiet_pct:
                options.log(f"lobby: host still busy ({load:.0f}% of a core), going on")
            return load
        options.log(f"lobby: host busy ({load:.0f}% of a core elsewhere), waiting")
        await asyncio.sleep(5.0)


# -- one round ----------------------------------------------------------------------------


def _windows(samplers: list[ProcSampler], marks: list[Any]) -> list[Window]:
    return [s.since(m) for s, m in zip(samplers, marks, strict=True)]


def _server_figures(windows: list[Window], deliveries: int) -> dict[str, float | None]:
    cpu = sum(w.cpu_s for w in windows)
    wall = max(w.wall_s for w in windows)
    return {
        "cpu_pct": 100.0 * cpu / wall,
        "cpu_us_per_delivery": (cpu / deliveries * 1e6) if deliveries else None,
        "rss_peak_mb": sum(w.rss_peak_mb for w in windows),
        "rss_peak_mb_each": [round(w.rss_peak_mb, 1) for w in windows],
        "cpu_pct_each": [round(100.0 * w.cpu_s / w.wall_s, 1) for w in windows],
    }


async def product_round(
    options: BenchOptions,
    live: list[Any],
    demo: Demo,
    sizes: Sizes,
    label: str,
    beside: ProcSampler | None = None,
) -> dict[str, Any]:
    """One latency round; ``beside``: a process of the scenario running alongside (the hostile
    scenario's bad clients), whose CPU in the round is reported apart from the host's other
    load as ``beside_cpu_pct``."""
    urls = [s.url for s in live]
    need_a = math.ceil(sizes.calls / 2) + 5
    need_b = math.ceil(sizes.calls / 4) + 5
    await issue_some(urls[0], demo, {demo.category("A"): need_a, demo.category("B"): need_b})
    ws_urls = [
        f"{s.ws_url}/api/v1/ws/offices/{demo.office_id}/lobby?token={demo.token('display')}"
        for s in live
    ]
    swarm = SwarmProcess(
        ws_urls,
        sizes.displays,
        sizes.connect_concurrency,
        options.workdir / f"swarm-{label}.log",
        lifetime_s=3600,
    )
    profiler: Profiler | None = None
    try:
        ready = await swarm.start()
        quiet = await wait_for_quiet_host(options, sizes) if sizes.wait_quiet_s > 0 else None
        samplers = [s.sampler for s in live]
        marks = [s.mark() for s in samplers]
        swarm_mark = swarm.sampler.mark()
        beside_mark = beside.mark() if beside is not None else None
        host = host_mark(demo.database)
        profiler = Profiler(options, [s.pid for s in live], label)
        drive = await drive_product(urls, demo, sizes.calls, sizes.interval_s)
        final_seq = await lobby_seq(urls[0], demo)
        result = await swarm.collect(final_seq, drive.t0, timeout_s=30, close=True)
        profiler.stop()
        windows = _windows(samplers, marks)
        swarm_window = swarm.sampler.since(swarm_mark)
        beside_window = beside.since(beside_mark) if beside is not None and beside_mark else None
        beside_s = beside_window.cpu_s if beside_window is not None else 0.0
        machine = host_since(
            host, sum(w.cpu_s for w in windows) + swarm_window.cpu_s + beside_s, demo.database
        )
    finally:
        if profiler is not None:
            profiler.stop()
        swarm.stop()
    return {
        "ready": ready,
        "swarm": result,
        "drive": _drive_summary(drive),
        "server": _server_figures(windows, result["events_received"]),
        "swarm_cpu_pct": swarm_window.cpu_pct,
        "host": machine,
        "quiet_before": quiet,
        "beside_cpu_pct": beside_window.cpu_pct if beside_window is not None else None,
    }


async def baseline_round(
    options: BenchOptions, bases: list[BaselineServer], demo: Demo, sizes: Sizes, label: str
) -> dict[str, Any]:
    ws_urls = [f"{b.ws_url}/display" for b in bases]
    swarm = SwarmProcess(
        ws_urls,
        sizes.displays,
        sizes.connect_concurrency,
        options.workdir / f"swarm-{label}.log",
        lifetime_s=3600,
    )
    try:
        ready = await swarm.start()
        quiet = await wait_for_quiet_host(options, sizes) if sizes.wait_quiet_s > 0 else None
        samplers = [b.sampler for b in bases]
        marks = [s.mark() for s in samplers]
        swarm_mark = swarm.sampler.mark()
        host = host_mark()
        drive, final_seq = await drive_baseline(bases, demo, sizes.calls, sizes.interval_s, label)
        result = await swarm.collect(final_seq, drive.t0, timeout_s=30, close=True)
        windows = _windows(samplers, marks)
        swarm_window = swarm.sampler.since(swarm_mark)
        machine = host_since(host, sum(w.cpu_s for w in windows) + swarm_window.cpu_s)
    finally:
        swarm.stop()
    return {
        "ready": ready,
        "swarm": result,
        "drive": _drive_summary(drive),
        "server": _server_figures(windows, result["events_received"]),
        "swarm_cpu_pct": swarm_window.cpu_pct,
        "host": machine,
        "quiet_before": quiet,
    }


def _drive_summary(drive: Drive) -> dict[str, Any]:
    return {
        "calls": len(drive.t0),
        "empty": drive.empty,
        "errors": drive.errors[:20],
        "error_count": len(drive.errors),
        "calls_per_s": drive.calls_per_s(),
        "call_http_ms": summarise(drive.call_ms),
        "issue_http_ms": summarise(drive.issue_ms),
    }


# -- the scenario -------------------------------------------------------------------------


def _g(rounds: list[dict[str, Any]], *path: str) -> list[Any]:
    out = []
    for item in rounds:
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def latency_rows(
    group: str,
    processes: int,
    product: list[dict[str, Any]],
    baseline: list[dict[str, Any]],
    displays: int = 0,
) -> list[Row]:
    rows = _latency_rows(group, processes, product, baseline, displays)
    return [row for row in rows if row is not None]


def p99_over_baseline(
    group: str, product: list[dict[str, Any]], baseline: list[dict[str, Any]]
) -> Row:
    """The product's call→display p99 less the bare broadcast's, round by round (each product
    round is paired with the baseline round run right after it)."""
    pairs = zip(
        _g(product, "swarm", "latency_ms", "p99"),
        _g(baseline, "swarm", "latency_ms", "p99"),
        strict=False,
    )
    return Row.from_rounds(
        "call→display p99 − bare broadcast's p99",
        "ms",
        [None if p is None or b is None else p - b for p, b in pairs],
        target=Target("<=", P99_OVER_BASELINE_MS),
        group=group,
        note="issue #20: p99 ≤ 1.0× the bare broadcast + 10 ms",
    )


def _latency_rows(
    group: str,
    processes: int,
    product: list[dict[str, Any]],
    baseline: list[dict[str, Any]],
    displays: int,
) -> list[Row | None]:
    p99_target = P99_TARGET_MS.get(processes, P99_TARGET_MS[2])
    if processes >= 2 and displays >= LARGE_DISPLAYS:
        p99_target = LARGE_P99_TARGET_MS

    def problems(rounds: list[dict[str, Any]]) -> list[float]:
        return [
            r["swarm"]["resyncs"] + r["swarm"]["dropped"] + (r["ready"]["failed"]) for r in rounds
        ]

    return [
        Row.from_rounds(
            "call→display p50",
            "ms",
            _g(product, "swarm", "latency_ms", "p50"),
            baseline=_g(baseline, "swarm", "latency_ms", "p50"),
            group=group,
        ),
        Row.from_rounds(
            "call→display p99",
            "ms",
            _g(product, "swarm", "latency_ms", "p99"),
            baseline=_g(baseline, "swarm", "latency_ms", "p99"),
            target=Target("<=", p99_target),
            group=group,
        ),
        p99_over_baseline(group, product, baseline),
        Row.from_rounds(
            "call→display max",
            "ms",
            _g(product, "swarm", "latency_ms", "max"),
            baseline=_g(baseline, "swarm", "latency_ms", "max"),
            group=group,
        ),
        Row.from_rounds(
            "fan-out to the last display p50",
            "ms",
            _g(product, "swarm", "fanout_ms", "p50"),
            baseline=_g(baseline, "swarm", "fanout_ms", "p50"),
            group=group,
        ),
        Row.from_rounds(
            "call deliveries measured",
            "count",
            _g(product, "swarm", "call_deliveries"),
            baseline=_g(baseline, "swarm", "call_deliveries"),
            group=group,
        ),
        Row.from_rounds(
            "call-next response time p50",
            "ms",
            _g(product, "drive", "call_http_ms", "p50"),
            baseline=_g(baseline, "drive", "call_http_ms", "p50"),
            group=group,
        ),
        Row.from_rounds(
            "call-next response time p99",
            "ms",
            _g(product, "drive", "call_http_ms", "p99"),
            baseline=_g(baseline, "drive", "call_http_ms", "p99"),
            group=group,
        ),
        Row.from_rounds(
            "calls/s (paced)",
            "1/s",
            _g(product, "drive", "calls_per_s"),
            baseline=_g(baseline, "drive", "calls_per_s"),
            group=group,
        ),
        Row.from_rounds(
            "missed events",
            "count",
            _g(product, "swarm", "missed"),
            baseline=_g(baseline, "swarm", "missed"),
            target=Target("==", 0, over="max"),
            group=group,
        ),
        Row.from_rounds(
            "out-of-order events",
            "count",
            _g(product, "swarm", "out_of_order"),
            baseline=_g(baseline, "swarm", "out_of_order"),
            target=Target("==", 0, over="max"),
            group=group,
        ),
        Row.from_rounds(
            "displays failed, dropped or resynced",
            "count",
            problems(product),
            baseline=problems(baseline),
            target=Target("==", 0, over="max"),
            group=group,
        ),
        Row.from_rounds(
            "request errors",
            "count",
            _g(product, "drive", "error_count"),
            target=Target("==", 0, over="max"),
            group=group,
        ),
        Row.from_rounds(
            "display connect + snapshot p99",
            "s",
            _g(product, "ready", "connect_s", "p99"),
            baseline=_g(baseline, "ready", "connect_s", "p99"),
            group=group,
        ),
        Row.from_rounds(
            "server CPU (sum of processes)",
            "% core",
            _g(product, "server", "cpu_pct"),
            baseline=_g(baseline, "server", "cpu_pct"),
            group=group,
        ),
        Row.from_rounds(
            "server CPU per delivery",
            "µs",
            _g(product, "server", "cpu_us_per_delivery"),
            baseline=_g(baseline, "server", "cpu_us_per_delivery"),
            group=group,
        ),
        Row.from_rounds(
            "server peak RSS (sum of processes)",
            "MB",
            _g(product, "server", "rss_peak_mb"),
            baseline=_g(baseline, "server", "rss_peak_mb"),
            group=group,
        ),
        Row.from_rounds(
            "PostgreSQL CPU", "% core", _g(product, "host", "postgres_pct"), group=group
        )
        if "postgres" in group
        else None,
        Row.from_rounds(
            "display swarm CPU (load generator)",
            "% core",
            _g(product, "swarm_cpu_pct"),
            baseline=_g(baseline, "swarm_cpu_pct"),
            group=group,
        ),
        Row.from_rounds(
            "other load on the host (noise)",
            "% core",
            _g(product, "host", "other_pct"),
            baseline=_g(baseline, "host", "other_pct"),
            group=group,
        ),
    ]


def burst_rows(
    group: str,
    products: list[dict[str, Any]],
    baselines: list[dict[str, Any]],
    processes: int = 1,
) -> list[Row]:
    """One row per figure over the burst rounds; each round's issue rate is divided by the plain
    INSERT measured right after it."""
    issued = [p["issue"]["per_s"] for p in products]
    plains = [(p.get("plain_insert") or {}).get("per_s") for p in products]
    plain = [v for v in plains if v] or None
    ratios = [i / v if i and v else None for i, v in zip(issued, plains, strict=True)]

    def each(*path: str, of: list[dict[str, Any]] = products) -> list[Any]:
        values = []
        for item in of:
            for key in path:
                item = item.get(key) if isinstance(item, dict) else None
            values.append(item)
        return values

    rows = [
        Row.from_rounds(
            "ticket issue/s (no displays)",
            "1/s",
            issued,
            baseline=each("issue", "per_s", of=baselines),
            target=Target(">=", ISSUE_TARGET_PER_S.get(processes, ISSUE_TARGET_PER_S[2])),
            group=group,
            note="baseline: a bare ASGI app under the same uvicorn",
        ),
        Row.from_rounds(
            "ticket issue/s against a plain INSERT of its row",
            "1/s",
            issued,
            baseline=plain,
            group=group,
            note="baseline: the same ticket row, one INSERT a transaction, same driver and pool",
        )
        if plain
        else None,
        Row.from_rounds(
            "ticket issue/s ÷ plain INSERT/s",
            "×",
            ratios,
            target=Target(">=", ISSUE_PLAIN_RATIO_TARGET),
            group=group,
        )
        if plain
        else None,
        Row.from_rounds(
            "ticket issue p99",
            "ms",
            each("issue", "ms", "p99"),
            baseline=each("issue", "ms", "p99", of=baselines),
            group=group,
        ),
        Row.from_rounds(
            "issue errors",
            "count",
            each("issue", "errors"),
            target=Target("==", 0, over="max"),
            group=group,
        ),
        Row.from_rounds(
            "calls/s (no displays)",
            "1/s",
            each("call", "per_s"),
            baseline=each("call", "per_s", of=baselines),
            group=group,
        ),
        Row.from_rounds(
            "server CPU during the bursts",
            "% core",
            each("issue_cpu_pct"),
            baseline=each("issue_cpu_pct", of=baselines),
            group=group,
        ),
        Row.from_rounds(
            "PostgreSQL CPU during the bursts",
            "% core",
            each("host", "postgres_pct"),
            group=group,
        )
        if "postgres" in group
        else None,
        Row.from_rounds(
            "load generator CPU during the bursts",
            "% core",
            each("driver_cpu_pct"),
            baseline=each("driver_cpu_pct", of=baselines),
            group=group,
        ),
        Row.from_rounds(
            "other load on the host during the bursts (noise)",
            "% core",
            each("host", "other_pct"),
            baseline=each("host", "other_pct", of=baselines),
            group=group,
        ),
    ]
    return [row for row in rows if row is not None]


def _burst_summary(b: Burst) -> dict[str, Any]:
    return {
        "per_s": b.per_s,
        "ok": b.ok,
        "other": b.other,
        "errors": len(b.errors),
        "error_kinds": sorted(set(b.errors))[:10],
        "elapsed_s": b.elapsed_s,
        "ms": summarise(b.ms),
    }


async def measure_bursts(
    options: BenchOptions,
    urls: list[str],
    samplers: list[ProcSampler],
    demo: Demo,
    sizes: Sizes,
    database_cpu: bool,
    pids: list[int] | None = None,
    label: str = "",
) -> dict[str, Any]:
    if sizes.wait_quiet_s > 0:
        await wait_for_quiet_host(options, sizes)
    me = ProcSampler(os.getpid()).start()
    profiler = Profiler(options, pids or [], label) if pids else None
    try:
        marks = [s.mark() for s in samplers]
        own = me.mark()
        database = demo.database if database_cpu else None
        host = host_mark(database)
        issued, called = await issue_and_call_bursts(
            urls, demo, sizes.issues, sizes.issue_concurrency
        )
        windows = _windows(samplers, marks)
        driver = me.since(own)
        machine = host_since(host, sum(w.cpu_s for w in windows), database)
    finally:
        if profiler is not None:
            profiler.stop()
        me.stop()
    total_wall = issued.elapsed_s + called.elapsed_s
    cpu = sum(w.cpu_s for w in windows)
    return {
        "issue": _burst_summary(issued),
        "call": _burst_summary(called),
        "issue_cpu_pct": 100.0 * cpu / max(max(w.wall_s for w in windows), total_wall, 1e-9),
        "driver_cpu_pct": driver.cpu_pct,
        "host": machine,
    }


async def run_variant(
    options: BenchOptions,
    db: str,
    url: str,
    demo: Demo,
    sizes: Sizes,
    processes: int,
    result: Result,
) -> None:
    group = f"{db}, {processes} process{'es' if processes > 1 else ''}, {sizes.displays} displays"
    options.log(f"lobby: {group}: starting {processes} server(s)")
    details: dict[str, Any] = {"product": [], "baseline": []}
    prefix = f"server-{db}-{processes}p"
    with servers(url, processes, options.workdir, prefix, options.env_params()) as live:
        bases = [
            await BaselineServer("ws", options.workdir / f"baseline-ws-{i}.log").start()
            for i in range(processes if sizes.rounds > 0 else 0)
        ]
        try:
            for index in range(sizes.rounds):
                label = f"{db}-{processes}p-r{index + 1}"
                options.log(f"lobby: {group}: round {index + 1}/{sizes.rounds}: product")
                product = await product_round(options, live, demo, sizes, label)
                details["product"].append(product)
                options.log(
                    "lobby:   p50 {p50:.1f} ms, p99 {p99:.1f} ms, missed {m}".format(
                        p50=product["swarm"]["latency_ms"]["p50"] or math.nan,
                        p99=product["swarm"]["latency_ms"]["p99"] or math.nan,
                        m=product["swarm"]["missed"],
                    )
                )
                options.log(f"lobby: {group}: round {index + 1}/{sizes.rounds}: baseline")
                base = await baseline_round(options, bases, demo, sizes, label + "-base")
                details["baseline"].append(base)
                options.log(
                    "lobby:   baseline p50 {p50:.1f} ms, p99 {p99:.1f} ms".format(
                        p50=base["swarm"]["latency_ms"]["p50"] or math.nan,
                        p99=base["swarm"]["latency_ms"]["p99"] or math.nan,
                    )
                )
        finally:
            for base in bases:
                base.stop()
        if sizes.rounds > 0:
            result.rows += latency_rows(
                group, processes, details["product"], details["baseline"], sizes.displays
            )
        bursts: list[dict[str, Any]] = []
        count = sizes.burst_rounds or max(1, sizes.rounds)
        for index in range(count if sizes.issues > 0 else 0):
            # Each round issues and calls as many tickets, so every round starts from the same
            # lobby; its plain INSERT runs right after it (the servers idle meanwhile).
            options.log(
                f"lobby: {group}: issue and call bursts ({sizes.issues} tickets), "
                f"round {index + 1}/{count}"
            )
            burst = await measure_bursts(
                options,
                [s.url for s in live],
                [s.sampler for s in live],
                demo,
                sizes,
                database_cpu=True,
                pids=[s.pid for s in live],
                label=f"{db}-{processes}p-bursts-r{index + 1}",
            )
            options.log(
                f"lobby: {group}: plain INSERT of the same ticket row ({sizes.issues} rows)"
            )
            burst["plain_insert"] = await plain_insert_burst(
                options, url, demo, sizes.issues, sizes.issue_concurrency, processes
            )
            options.log(
                f"lobby:   {burst['issue']['per_s']:.0f} issues/s, plain INSERT "
                f"{burst['plain_insert']['per_s']:.0f}/s"
            )
            bursts.append(burst)
        for server in live:
            if server.process is not None and server.process.poll() is not None:
                result.notes.append(f"{group}: server exited early: {tail(server.log_path, 500)}")
    if bursts:
        http = [
            await BaselineServer("http", options.workdir / f"baseline-http-{i}.log").start()
            for i in range(processes)
        ]
        try:
            base_burst = await measure_bursts(
                options,
                [h.url for h in http],
                [h.sampler for h in http],
                demo,
                sizes,
                database_cpu=False,
            )
        finally:
            for h in http:
                h.stop()
        result.rows += burst_rows(
            group.rsplit(",", 1)[0] + ", no displays", bursts, [base_burst], processes
        )
        details["bursts"] = {"product": bursts, "baseline": base_burst}
        driver = max(b["driver_cpu_pct"] for b in bursts)
        if driver > 85:
            result.notes.append(
                f"{group}: the load generator used {driver:.0f}% of a core "
                "during the bursts; the issue rate may be the generator's limit"
            )
    noisy = [
        r["host"]["other_pct"]
        for r in details["product"] + details["baseline"]
        if r["host"]["other_pct"] > 15
    ]
    if noisy:
        result.notes.append(
            f"{group}: other work on the host used up to {max(noisy):.0f}% of a core during "
            f"{len(noisy)} round(s); those figures are noisy"
        )
    unmatched = sum(r["swarm"]["unmatched"] for r in details["product"])
    if unmatched:
        result.notes.append(f"{group}: {unmatched} call deliveries without a matching response")
    result.details[group] = details


async def run_soak(
    options: BenchOptions, db: str, url: str, demo: Demo, sizes: Sizes, result: Result
) -> None:
    minutes = options.soak_minutes
    total_s = minutes * 60
    warmup_s = min(sizes.soak_warmup_s, total_s / 3)
    group = f"soak {minutes:g} min, {db}, 1 process, {sizes.soak_displays} displays"
    options.log(f"lobby: {group}: starting")
    windows: list[dict[str, Any]] = []
    with servers(url, 1, options.workdir, f"server-{db}-soak", options.env_params()) as live:
        server = live[0]
        await issue_some(server.url, demo, {demo.category("A"): 30, demo.category("B"): 30})
        ws_url = (
            f"{server.ws_url}/api/v1/ws/offices/{demo.office_id}/lobby"
            f"?token={demo.token('display')}"
        )
        swarm = SwarmProcess(
            [ws_url],
            sizes.soak_displays,
            sizes.connect_concurrency,
            options.workdir / "swarm-soak.log",
            lifetime_s=total_s + 900,
        )
        try:
            ready = await swarm.start()
            began = time.monotonic()
            stop_at = began + total_s
            drive = Drive()
            load = asyncio.create_task(
                drive_product(
                    [server.url],
                    demo,
                    0,
                    sizes.soak_interval_s,
                    serve=True,
                    stop_at=stop_at,
                    drive=drive,
                )
            )
            sent: set[str] = set()
            while True:
                last = time.monotonic() + sizes.soak_collect_s >= stop_at
                await _sleep_until(stop_at if last else time.monotonic() + sizes.soak_collect_s)
                if last:
                    await load
                final_seq = await lobby_seq(server.url, demo)
                await asyncio.sleep(0.5)  # responses of calls committed before the read
                t0 = {n: t for n, t in list(drive.t0.items()) if n not in sent}
                report = await swarm.collect(final_seq, {**t0}, timeout_s=30, close=last)
                sent |= set(t0)
                report["at_s"] = time.monotonic() - began
                report["rss_mb"] = (
                    server.sampler.samples[-1].rss_bytes / 2**20 if server.sampler else None
                )
                windows.append(report)
                options.log(
                    "lobby: soak {at:.0f} s: p99 {p99:.1f} ms, missed {m}, rss {rss:.1f} MB".format(
                        at=report["at_s"],
                        p99=report["latency_ms"]["p99"] or math.nan,
                        m=report["missed"],
                        rss=report["rss_mb"] or 0,
                    )
                )
                if last:
                    break
            samples = [
                (s.at - began, s.rss_bytes / 2**20)
                for s in (server.sampler.samples if server.sampler else [])
            ]
        finally:
            swarm.stop()
    after = [(t, r) for t, r in samples if t >= warmup_s]
    at_warmup = statistics.mean([r for t, r in after if t < warmup_s + 30] or [after[0][1]])
    at_end = statistics.mean([r for t, r in after if t >= after[-1][0] - 30])
    slope = _slope(after) * 3600 if len(after) > 2 else None
    growth = at_end - at_warmup
    p99s = [w["latency_ms"]["p99"] for w in windows if w["latency_ms"]["p99"] is not None]
    problems = sum(w["resyncs"] for w in windows) + windows[-1]["dropped"] + ready["failed"]
    result.rows += [
        Row.from_rounds(
            "RSS after warm-up", "MB", [at_warmup], group=group, note=f"warm-up {warmup_s:.0f} s"
        ),
        Row.from_rounds("RSS at end", "MB", [at_end], group=group),
        Row.from_rounds(
            "RSS growth after warm-up",
            "%",
            [100.0 * growth / at_warmup],
            target=Target("<=", SOAK_GROWTH_TARGET_PCT),
            group=group,
        ),
        Row.from_rounds("RSS trend after warm-up", "MB/h", [slope], group=group),
        Row.from_rounds(
            "call→display p99, per window (median, min–max)",
            "ms",
            p99s,
            target=Target("<=", P99_TARGET_MS[1]),
            group=group,
        ),
        Row.from_rounds("calls", "count", [len(drive.t0)], group=group),
        Row.from_rounds(
            "missed events",
            "count",
            [sum(w["missed"] for w in windows)],
            target=Target("==", 0),
            group=group,
        ),
        Row.from_rounds(
            "out-of-order events",
            "count",
            [sum(w["out_of_order"] for w in windows)],
            target=Target("==", 0),
            group=group,
        ),
        Row.from_rounds(
            "displays failed, dropped or resynced",
            "count",
            [problems],
            target=Target("==", 0),
            group=group,
        ),
        Row.from_rounds(
            "request errors", "count", [len(drive.errors)], target=Target("==", 0), group=group
        ),
    ]
    result.details[group] = {
        "ready": ready,
        "windows": windows,
        "drive": _drive_summary(drive),
        "rss_mb": [(round(t, 1), round(r, 2)) for t, r in samples[:: max(1, len(samples) // 400)]],
    }


def _slope(points: list[tuple[float, float]]) -> float:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


@register("lobby")
async def run(options: BenchOptions) -> Result:
    sizes = sizes_for(options)
    dbs = options.dbs or (["sqlite", "postgres"] if options.quick else ["postgres"])
    result = Result("lobby")
    result.details["sizes"] = sizes.__dict__
    demos: dict[str, Demo] = {}

    async def prepare(db: str) -> Demo:
        if db not in demos:
            url = options.database_url(db, "bench_lobby")
            options.log(f"lobby: {db}: fresh database, demo office")
            await recreate_database(url)
            demos[db] = Demo(
                await asyncio.to_thread(seed_demo, url, options.env_params()),
                database=url.rsplit("/", 1)[-1] if db == "postgres" else None,
            )
        return demos[db]

    for db in dbs:
        url = options.database_url(db, "bench_lobby")
        demo = await prepare(db)
        for processes in sizes.processes:
            if (processes > 1 and db != "postgres") or (sizes.rounds <= 0 and sizes.issues <= 0):
                continue
            await run_variant(options, db, url, demo, sizes, processes, result)
    if options.soak_minutes > 0:
        db = "postgres" if "postgres" in dbs else dbs[0]
        await run_soak(
            options, db, options.database_url(db, "bench_lobby"), await prepare(db), sizes, result
        )
    if sizes.rounds > 0:
        result.notes.append(
            f"{sizes.calls} calls per round, one every {sizes.interval_s:g} s by 4 counters, "
            "a ticket issued between calls; every event goes to every display; "
            "latency = display receipt − the call's HTTP response "
            "(baseline: − the bare server's acknowledgement)"
        )
    if options.soak_minutes > 0:
        result.notes.append(
            f"soak: a call every {sizes.soak_interval_s:g} s (the counter starts and finishes its "
            "previous ticket first) and a ticket issued between calls; figures per "
            f"{sizes.soak_collect_s:g} s window"
        )
    return result
