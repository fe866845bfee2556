"""Hostile bulk bodies: 10 MiB of newlines, and one 10 MiB line without a newline.

Each must be answered with one problem, quickly, and must not stall the process for anyone
else. Figures per body: seconds until the whole answer is read, the answer's result lines, and
the worst /healthz latency measured by a probe running alongside. The baseline is the same
10 MiB uploaded to /attachments, which only hashes and stores it: the cost of moving the bytes.
"""

import asyncio
import json
import time

import httpx2

from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    ServerProcess,
    Target,
    recreate_database,
    register,
    seed_demo,
)

MIB = 1024 * 1024


async def _probe(client: httpx2.AsyncClient, stop: asyncio.Event) -> float:
    """The worst latency of /healthz, asked every 20 ms until ``stop``."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/healthz")
        worst = max(worst, time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return worst


async def post_hostile(
    url: str, token: str, body: bytes
) -> tuple[float, list[dict[str, object]], float]:
    """(seconds to the full answer, its result lines, worst /healthz latency meanwhile)."""
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/x-ndjson"}
    async with (
        httpx2.AsyncClient(base_url=url, timeout=600) as probe_client,
        httpx2.AsyncClient(base_url=url + "/api/v1", timeout=600, headers=headers) as client,
    ):
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe(probe_client, stop))
        started = time.perf_counter()
        response = await client.post("/applications/bulk", content=body)
        elapsed = time.perf_counter() - started
        stop.set()
        worst = await probe
    response.raise_for_status()
    return elapsed, [json.loads(line) for line in response.text.splitlines()], worst


async def upload(url: str, token: str, body: bytes) -> float:
    async with httpx2.AsyncClient(
        base_url=url + "/api/v1",
        timeout=600,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/octet-stream"},
    ) as client:
        started = time.perf_counter()
        response = await client.post("/attachments", content=body)
        response.raise_for_status()
        return time.perf_counter() - started


BODIES = {
    "10 MiB of newlines": (b"\n" * (10 * MIB), "no_lines"),
    "one 10 MiB line, no newline": (b"x" * (10 * MIB), "line_too_long"),
}


@register("hostile_bulk")
async def run(options: BenchOptions) -> Result:
    rounds = options.rounds or (1 if options.quick else 3)
    result = Result("hostile_bulk")
    for db in options.dbs or ["sqlite"]:
        url = options.database_url(db, "bench_hostile_bulk")
        await recreate_database(url)
        demo = await asyncio.to_thread(seed_demo, url, options.env_params())
        token = demo["tokens"]["intake"]
        with ServerProcess(
            url, options.workdir / f"hostile-bulk-{db}.log", options.env_params()
        ) as server:
            for name, (body, code) in BODIES.items():
                times: list[float | None] = []
                worst: list[float | None] = []
                baselines: list[float | None] = []
                for _ in range(rounds):
                    elapsed, answer, probe = await post_hostile(server.url, token, body)
                    codes = [e["code"] for r in answer for e in r.get("errors", [])]  # type: ignore[attr-defined]
                    if codes != [code]:
                        result.notes.append(f"{db}, {name}: expected one {code}, got {codes[:5]}")
                    options.log(
                        f"hostile_bulk: {db}: {name}: {elapsed:.2f} s, "
                        f"{len(answer)} result line(s), "
                        f"worst /healthz {probe * 1000:.0f} ms"
                    )
                    times.append(elapsed)
                    worst.append(probe * 1000)
                    stamp = f"{time.time():.6f}".encode()  # a new file each round: the store dedups
                    baselines.append(await upload(server.url, token, body[: -len(stamp)] + stamp))
                group = f"{db}, {name}"
                result.rows.append(
                    Row.from_rounds(
                        "answered in",
                        "s",
                        times,
                        baseline=baselines,
                        target=Target("<=", 2.0, "max"),
                        group=group,
                        note="baseline: the same bytes uploaded to /attachments",
                    )
                )
                result.rows.append(
                    Row.from_rounds(
                        "worst /healthz latency meanwhile",
                        "ms",
                        worst,
                        target=Target("<=", 500, "max"),
                        group=group,
                    )
                )
    return result
