"""Healthy lobby displays next to misbehaving ones: does anyone else notice?

One ``madoguchi serve`` process with a lobby history to replay. The lobby scenario's latency
round (lobby.product_round: N healthy displays in their own process, counters calling on a
schedule, a kiosk issuing between calls) runs in two kinds, alternately (clean, bad, clean,
bad, …: ``rounds`` of each), so that a burst of other work on a shared host lands on both kinds
alike rather than on one of them:

* **clean**: the healthy displays only (the baseline);
* **with bad clients**: the same, while ``bad_displays.py`` (its own process, at nice 19: the
  bad clients stand for other machines, so their generator must not take the server's cores)
  keeps B silent and slow displays connected, each asking to replay the whole history from
  seq 0; a silent one never reads and reconnects every 15 s, a slow one reads 512 bytes a
  second and reconnects when the server drops it. Each bad client connects from its own
  loopback address (``bad_addresses=A`` shares A addresses among them).

Figures: the median over the rounds of each kind of the healthy displays' call→display p50 and
p99, with min–max, and the ratio of the medians (target: p99 within 20 % of the clean rounds'),
the bad/clean p99 ratio of each adjacent pair, missed events, the server's CPU and peak RSS,
and per round the host's other load (the bad clients' generator counted apart). Sizes:
``--opt displays=1000 bad=200 calls=200 history=3000 rounds=3``; ``--quick`` runs 200 healthy
and 40 bad, one round of each; ``--opt database_url=postgresql+asyncpg://…/mydb`` serves from
an existing database of yours (emptied first, never dropped) instead of a ``bench_*`` database
of the run.
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
    # Loopback addresses the bad clients connect from (0: one each, as separate machines).
    bad_addresses: int = 0


QUICK = HostileSizes(displays=200, bad=40, calls=40, interval_s=0.25, rounds=1, history=1000)
FULL = HostileSizes(displays=1000, bad=200, calls=200, interval_s=0.25, rounds=3, history=3000)


def sizes_for(options: BenchOptions) -> HostileSizes:
    chosen = QUICK if options.quick else FULL
    changes = {f.name: options.param(f.name, getattr(chosen, f.name)) for f in fields(HostileSizes)}
    if options.rounds is not None:
        changes["rounds"] = options.rounds
    return replace(chosen, **changes)


class BadDisplays:
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        silent: int,
        slow: int,
        log_path: Any,
        addresses: int = 0,
    ) -> None:
        self.config = {
            "host": host,
            "port": port,
            "path": path,
            "silent": silent,
            "slow": slow,
            "addresses": addresses or silent + slow,
        }
        self.log_path = log_path
        self.process: subprocess.Popen[Any] | None = None
        self.sampler: ProcSampler | None = None
        self.mark: Sample | None = None

    def _spawn(self) -> subprocess.Popen[Any]:
        with open(self.log_path, "ab") as log:
            return spawn(
                [sys.executable, "-m", "clients.bench.bad_displays"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                bufsize=1,
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
            # At nice 19 on a busy host the generator may take a while to get a turn.
            line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), 120)
            return {**(json.loads(line) if line else {}), "cpu_pct": cpu_pct}
        except TimeoutError:
            return {"cpu_pct": cpu_pct, "result": "no report within 120 s"}
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
    return Sizes(
        displays=sizes.displays,
        calls=sizes.calls,
        interval_s=sizes.interval_s,
        rounds=1,
        processes=[1],
        issues=0,
        issue_concurrency=8,
        connect_concurrency=sizes.connect_concurrency,
    )


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
        demo = Demo(
            await asyncio.to_thread(seed_demo, url, options.env_params()),
            database=url.rsplit("/", 1)[-1] if db == "postgres" else None,
        )
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
                # Alternating kinds: clean, bad, clean, bad, …
                label = f"{db}-clean-{index}"
                clean.append(await product_round(options, live, demo, lobby_sizes, label))
                options.log(f"hostile_ws: {db}: round {index + 1} clean: {_brief(clean[-1])}")
                bad = BadDisplays(
                    "127.0.0.1",
                    server.port,
                    path,
                    sizes.bad // 2,
                    sizes.bad - sizes.bad // 2,
                    options.workdir / f"bad-{db}-{index}.log",
                    sizes.bad_addresses,
                )
                ready = await bad.start()
                options.log(
                    f"hostile_ws: {db}: round {index + 1}: {ready['connected']} bad "
                    f"clients on ({ready.get('refused', 0)} refused at first)"
                )
                try:
                    assert bad.sampler is not None
                    hostile.append(
                        await product_round(
                            options,
                            live,
                            demo,
                            lobby_sizes,
                            f"{db}-hostile-{index}",
                            beside=bad.sampler,
                        )
                    )
                finally:
                    bad_reports.append({"ready": ready, **(await bad.stop())})
                options.log(f"hostile_ws: {db}: round {index + 1} bad: {_brief(hostile[-1])}")
        result.rows += rows(group, sizes, clean, hostile, bad_reports)
        result.details[group] = {
            "clean": clean,
            "hostile": hostile,
            "bad": bad_reports,
            "sequence": sequence(clean, hostile),
        }
        result.notes.append(
            f"{db}: "
            + "; ".join(
                f"{r['kind']} {r['p50_ms']:.0f} / {r['p99_ms']:.0f} ms "
                f"(other {r['other_pct']:.0f} %)"
                for r in result.details[group]["sequence"]
                if r["p99_ms"] is not None
            )
        )
    result.notes.append(
        f"'with bad clients': {sizes.bad // 2} silent and "
        f"{sizes.bad - sizes.bad // 2} slow displays, "
        "each asking to replay the whole history, beside the healthy ones, from a process at "
        "nice 19; "
        f"baseline: the same round without them, same server; {sizes.rounds} of each kind, "
        "alternating (clean first)"
    )
    return result


def _brief(round_: dict[str, Any]) -> str:
    latency = round_["swarm"]["latency_ms"]
    other = round_["host"]["other_pct"]
    text = f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, other load {other:.0f} %"
    if round_.get("beside_cpu_pct") is not None:
        text += f", bad clients' generator {round_['beside_cpu_pct']:.0f} %"
    return text


def sequence(clean: list[dict[str, Any]], hostile: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rounds in the order they ran, with what each measured and the host's other load."""
    ordered = []
    for index, (plain, bad) in enumerate(zip(clean, hostile, strict=False)):
        for kind, item in (("clean", plain), ("bad", bad)):
            latency = item["swarm"]["latency_ms"]
            ordered.append(
                {
                    "round": index + 1,
                    "kind": kind,
                    "p50_ms": latency["p50"],
                    "p99_ms": latency["p99"],
                    "other_pct": item["host"]["other_pct"],
                    "server_cpu_pct": item["server"]["cpu_pct"],
                    "bad_generator_cpu_pct": item.get("beside_cpu_pct"),
                }
            )
    return ordered


def _g(rounds: list[dict[str, Any]], *path: str) -> list[Any]:
    out = []
    for item in rounds:
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def pair_ratios(clean: list[dict[str, Any]], hostile: list[dict[str, Any]]) -> list[float | None]:
    out: list[float | None] = []
    for plain, bad in zip(
        _g(clean, "swarm", "latency_ms", "p99"),
        _g(hostile, "swarm", "latency_ms", "p99"),
        strict=False,
    ):
        out.append(bad / plain if plain and bad is not None else None)
    return out


def rows(
    group: str,
    sizes: HostileSizes,
    clean: list[dict[str, Any]],
    hostile: list[dict[str, Any]],
    bad: list[dict[str, Any]],
) -> list[Row]:
    clean_p99 = [v for v in _g(clean, "swarm", "latency_ms", "p99") if v is not None]
    limit = P99_WITHIN * sorted(clean_p99)[len(clean_p99) // 2] if clean_p99 else None
    g = f"{group}, with {sizes.bad} bad clients (baseline: without; medians of {len(clean)} rounds)"

    def problems(rounds: list[dict[str, Any]]) -> list[float]:
        return [
            r["swarm"]["resyncs"] + r["swarm"]["dropped"] + r["ready"]["failed"] for r in rounds
        ]

    return [
        Row.from_rounds(
            "call→display p50",
            "ms",
            _g(hostile, "swarm", "latency_ms", "p50"),
            baseline=_g(clean, "swarm", "latency_ms", "p50"),
            group=g,
        ),
        Row.from_rounds(
            "call→display p99",
            "ms",
            _g(hostile, "swarm", "latency_ms", "p99"),
            baseline=_g(clean, "swarm", "latency_ms", "p99"),
            target=Target("<=", round(limit, 1)) if limit else None,
            group=g,
            note="target: clean p99 + 20 %",
        ),
        Row.from_rounds(
            "call→display p99, bad / clean round of each pair",
            "×",
            pair_ratios(clean, hostile),
            group=g,
        ),
        Row.from_rounds(
            "missed events (healthy displays)",
            "count",
            _g(hostile, "swarm", "missed"),
            baseline=_g(clean, "swarm", "missed"),
            target=Target("==", 0, over="max"),
            group=g,
        ),
        Row.from_rounds(
            "healthy displays failed, dropped or resynced",
            "count",
            problems(hostile),
            baseline=problems(clean),
            target=Target("==", 0, over="max"),
            group=g,
        ),
        Row.from_rounds(
            "call-next response time p99",
            "ms",
            _g(hostile, "drive", "call_http_ms", "p99"),
            baseline=_g(clean, "drive", "call_http_ms", "p99"),
            group=g,
        ),
        Row.from_rounds(
            "request errors",
            "count",
            _g(hostile, "drive", "error_count"),
            baseline=_g(clean, "drive", "error_count"),
            target=Target("==", 0, over="max"),
            group=g,
        ),
        Row.from_rounds(
            "bad clients' connections (reconnects included)",
            "count",
            _g(bad, "connections"),
            group=g,
        ),
        Row.from_rounds(
            "server peak RSS",
            "MB",
            _g(hostile, "server", "rss_peak_mb"),
            baseline=_g(clean, "server", "rss_peak_mb"),
            group=g,
        ),
        Row.from_rounds(
            "server CPU",
            "% core",
            _g(hostile, "server", "cpu_pct"),
            baseline=_g(clean, "server", "cpu_pct"),
            group=g,
        ),
        Row.from_rounds(
            "bad clients' generator CPU (nice 19, not the server's)",
            "% core",
            _g(hostile, "beside_cpu_pct"),
            group=g,
        ),
        Row.from_rounds(
            "other load on the host (bad clients' generator excluded)",
            "% core",
            _g(hostile, "host", "other_pct"),
            baseline=_g(clean, "host", "other_pct"),
            group=g,
        ),
    ]
