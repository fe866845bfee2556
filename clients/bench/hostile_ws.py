"""Healthy lobby displays next to misbehaving ones: does anyone else notice?

One ``madoguchi serve`` process with a lobby history to replay. Each round runs the lobby
scenario's latency round (lobby.product_round: N healthy displays in their own process, counters
calling on a schedule, a kiosk issuing between calls) twice, back to back:

* **clean**: the healthy displays only (the baseline);
* **with bad clients**: the same, while ``bad_displays.py`` (its own process) keeps B silent
  and slow displays connected, each asking to replay the whole history from seq 0; a silent one
  never reads and reconnects every 15 s, a slow one reads 512 bytes a second and reconnects
  when the server drops it.

Figures: the healthy displays' call→display p50/p99 side by side (target: p99 within 20 % of
the clean run), missed events, and the server's peak RSS in each. Sizes: ``--opt
displays=1000 bad=200 calls=200 history=3000``; ``--quick`` runs 200 healthy and 40 bad;
``--opt database_url=postgresql+asyncpg://…/mydb`` serves from an existing database of yours
(emptied first, never dropped) instead of a ``bench_*`` database of the run.
"""

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass, fields, replace
from typing import Any

from clients.bench.lobby import Demo, Sizes, issue_some, product_round
from clients.bench.procstat import ProcSampler, Sample
from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    Target,
    recreate_database,
    register,
    seed_demo,
    servers,
    spawn,
    stop_process,
)

P99_WITHIN = 1.20


@dataclass
class HostileSizes:
    displays: int
    bad: int
    calls: int
    interval_s: float
    rounds: int
    history: int
    connect_concurrency: int = 50


QUICK = HostileSizes(displays=200, bad=40, calls=40, interval_s=0.25, rounds=1, history=1000)
FULL = HostileSizes(displays=1000, bad=200, calls=200, interval_s=0.25, rounds=1, history=3000)


def sizes_for(options: BenchOptions) -> HostileSizes:
    chosen = QUICK if options.quick else FULL
    changes = {f.name: options.param(f.name, getattr(chosen, f.name)) for f in fields(HostileSizes)}
    if options.rounds is not None:
        changes["rounds"] = options.rounds
    return replace(chosen, **changes)


class BadDisplays:
    def __init__(self, host: str, port: int, path: str, silent: int, slow: int, log_path: Any) -> None:
        self.config = {"host": host, "port": port, "path": path, "silent": silent, "slow": slow}
        self.log_path = log_path
        self.process: subprocess.Popen[Any] | None = None
        self.sampler: ProcSampler | None = None
        self.mark: Sample | None = None

    def _spawn(self) -> subprocess.Popen[Any]:
        with open(self.log_path, "ab") as log:
            return spawn(
                [sys.executable, "-m", "clients.bench.bad_displays"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
            )

    async def start(self) -> dict[str, Any]:
        self.process = self._spawn()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(self.config) + "\n")
        self.process.stdin.flush()
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), 300)
        self.sampler = ProcSampler(self.process.pid).start()
        self.mark = self.sampler.mark()
        return dict(json.loads(line))

    async def stop(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        assert self.process.stdout is not None
        cpu_pct = self.sampler.since(self.mark).cpu_pct if self.sampler and self.mark else None
        self.process.stdin.close()
        try:
            line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), 30)
            return {**(json.loads(line) if line else {}), "cpu_pct": cpu_pct}
        finally:
            if self.sampler is not None:
                self.sampler.stop()
            stop_process(self.process)


async def empty_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    if not url.startswith("postgresql"):
        await recreate_database(url)
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _lobby_sizes(sizes: HostileSizes) -> Sizes:
    return Sizes(displays=sizes.displays, calls=sizes.calls, interval_s=sizes.interval_s,
                 rounds=1, processes=[1], issues=0, issue_concurrency=8,
                 connect_concurrency=sizes.connect_concurrency)


@register("hostile_ws")
async def run(options: BenchOptions) -> Result:
    sizes = sizes_for(options)
    dbs = options.dbs or ["sqlite"]
    result = Result("hostile_ws")
    result.details["sizes"] = sizes.__dict__
    lobby_sizes = _lobby_sizes(sizes)
    explicit = options.params.get("database_url")
    if explicit:
        dbs = ["postgres" if explicit.startswith("postgresql") else "sqlite"]
    for db in dbs:
        if explicit:
            # A database of your own (``--opt database_url=...``): emptied, never dropped.
            url = explicit
            await empty_database(url)
        else:
            url = options.database_url(db, "bench_hostile_ws")
            await recreate_database(url)
        demo = Demo(await asyncio.to_thread(seed_demo, url, options.env_params()),
                    database=url.rsplit("/", 1)[-1] if db == "postgres" else None)
        group = f"{db}, 1 process, {sizes.displays} healthy displays"
        clean: list[dict[str, Any]] = []
        hostile: list[dict[str, Any]] = []
        bad_reports: list[dict[str, Any]] = []
        with servers(url, 1, options.workdir, f"hostile-{db}", options.env_params()) as live:
            server = live[0]
            options.log(f"hostile_ws: {db}: {sizes.history} events of history to replay")
            await issue_some(server.url, demo, {demo.category("A"): sizes.history})
            path = f"/api/v1/ws/offices/{demo.office_id}/lobby?token={demo.token('display')}"
            for index in range(sizes.rounds):
                options.log(f"hostile_ws: {db}: round {index + 1}: clean")
                clean.append(await product_round(options, live, demo, lobby_sizes, f"{db}-clean-{index}"))
                bad = BadDisplays("127.0.0.1", server.port, path, sizes.bad // 2, sizes.bad - sizes.bad // 2,
                                  options.workdir / f"bad-{db}-{index}.log")
                ready = await bad.start()
                options.log(f"hostile_ws: {db}: round {index + 1}: {ready['connected']} bad clients on")
                try:
                    hostile.append(await product_round(options, live, demo, lobby_sizes,
                                                       f"{db}-hostile-{index}"))
                finally:
                    bad_reports.append({"ready": ready, **(await bad.stop())})
        result.rows += rows(group, sizes, clean, hostile, bad_reports)
        result.details[group] = {"clean": clean, "hostile": hostile, "bad": bad_reports}
    result.notes.append(
        f"'with bad clients': {sizes.bad // 2} silent and {sizes.bad - sizes.bad // 2} slow displays, "
        "each asking to replay the whole history, beside the healthy ones; baseline: the same round "
        "without them, same server, just before"
    )
    return result


def _g(rounds: list[dict[str, Any]], *path: str) -> list[Any]:
    out = []
    for item in rounds:
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def rows(group: str, sizes: HostileSizes, clean: list[dict[str, Any]],
         hostile: list[dict[str, Any]], bad: list[dict[str, Any]]) -> list[Row]:
    clean_p99 = [v for v in _g(clean, "swarm", "latency_ms", "p99") if v is not None]
    limit = P99_WITHIN * sorted(clean_p99)[len(clean_p99) // 2] if clean_p99 else None
    g = f"{group}, with {sizes.bad} bad clients (baseline: without)"

    def problems(rounds: list[dict[str, Any]]) -> list[float]:
        return [r["swarm"]["resyncs"] + r["swarm"]["dropped"] + r["ready"]["failed"] for r in rounds]

    return [
        Row.from_rounds("call→display p50", "ms", _g(hostile, "swarm", "latency_ms", "p50"),
                        baseline=_g(clean, "swarm", "latency_ms", "p50"), group=g),
        Row.from_rounds("call→display p99", "ms", _g(hostile, "swarm", "latency_ms", "p99"),
                        baseline=_g(clean, "swarm", "latency_ms", "p99"),
                        target=Target("<=", round(limit, 1)) if limit else None, group=g,
                        note="target: clean p99 + 20 %"),
        Row.from_rounds("missed events (healthy displays)", "count", _g(hostile, "swarm", "missed"),
                        baseline=_g(clean, "swarm", "missed"), target=Target("==", 0, over="max"),
                        group=g),
        Row.from_rounds("healthy displays failed, dropped or resynced", "count", problems(hostile),
                        baseline=problems(clean), target=Target("==", 0, over="max"), group=g),
        Row.from_rounds("call-next response time p99", "ms",
                        _g(hostile, "drive", "call_http_ms", "p99"),
                        baseline=_g(clean, "drive", "call_http_ms", "p99"), group=g),
        Row.from_rounds("request errors", "count", _g(hostile, "drive", "error_count"),
                        baseline=_g(clean, "drive", "error_count"), target=Target("==", 0, over="max"),
                        group=g),
        Row.from_rounds("bad clients' connections (reconnects included)", "count",
                        _g(bad, "connections"), group=g),
        Row.from_rounds("server peak RSS", "MB", _g(hostile, "server", "rss_peak_mb"),
                        baseline=_g(clean, "server", "rss_peak_mb"), group=g),
        Row.from_rounds("server CPU", "% core", _g(hostile, "server", "cpu_pct"),
                        baseline=_g(clean, "server", "cpu_pct"), group=g),
        Row.from_rounds("bad clients' process CPU (load generator)", "% core", _g(bad, "cpu_pct"),
                        group=g),
        Row.from_rounds("other load on the host (bad clients included)", "% core",
                        _g(hostile, "host", "other_pct"), baseline=_g(clean, "host", "other_pct"),
                        group=g),
    ]
