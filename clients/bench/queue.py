"""The central queue under fifty operators on PostgreSQL, against a job-queue library and a plain
SKIP LOCKED loop.

Figures: claim latency p50/p99 and claim+submit pairs per second over a fixed window. Two
baselines run in the same round, with the same number of connections and rows: PgQueuer (a
PostgreSQL job-queue library, pinned in the ``bench`` extra) dequeuing one job at a time and
completing it with its log row, the work a job queue does for a claim and a completion; and the
textbook claim/complete of a bare table, which does none of a queue's work.
"""

import asyncio
import random
import statistics
import time

import asyncpg
import httpx2

from clients.bench.http1 import LeanClient
from clients.bench.intake import send, status_report_line
from clients.bench.lobby import BaselineServer
from clients.bench.procstat import host_mark, host_since, read_cpu_s
from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    Target,
    recreate_database,
    register,
    seed_demo,
    servers,
)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def operators(url: str, admin_token: str, count: int) -> list[str]:
    async with httpx2.AsyncClient(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {admin_token}"}
    ) as admin:
        return [
            (
                await admin.post(
                    "/admin/tokens",
                    json={"role": "operator", "name": f"bench {n}", "employer": "city"},
                )
            ).json()["token"]
            for n in range(count)
        ]


async def drive(
    urls: list[str], tokens: list[str], seconds: float, keying_s: float = 0.0
) -> tuple[list[float], float, int]:
    """Operators claim and submit for ``seconds``; (claim latencies, pairs per second, pairs).

    ``keying_s`` is the time an operator spends on the form between claim and submit (0: the
    queue is driven flat out, which measures throughput; > 0: latency at a working pace). At a
    working pace operators start at random moments within one form's time and take between half
    and one and a half times ``keying_s`` a form (seeded), as a room of people does; started
    together with equal forms they would all claim in the same millisecond, every form.
    """
    pace = random.Random(7)
    latencies: list[float] = []
    pairs = 0
    drained_at: list[float] = []
    # Lean clients (clients/bench/http1.py): the load generator shares the cores with what it
    # measures, and a general HTTP client costs it about a millisecond of CPU per request.
    clients = [
        LeanClient(
            urls[n % len(urls)] + "/api/v1",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )
        for n, token in enumerate(tokens)
    ]
    started_at = time.perf_counter()
    stop_at = started_at + seconds

    async def operator(client: LeanClient) -> None:
        nonlocal pairs
        async with client:
            if keying_s:
                await asyncio.sleep(pace.uniform(0, keying_s))
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await client.post("/work/claim", json={"kinds": ["entry"]})
                latencies.append(time.perf_counter() - started)
                if response.status_code == 204:
                    drained_at.append(time.perf_counter())
                    return
                task = response.json()
                if keying_s:
                    await asyncio.sleep(pace.uniform(0.5 * keying_s, 1.5 * keying_s))
                keyed = {"lease_token": task["lease_token"], "values": task["form"]["values"]}
                done = await client.post(f"/work/{task['id']}/submit", json=keyed)
                if done.status_code == 422 and done.json().get("code") == "problems_found":
                    # The demo office's own forms include one with a missing field: the operator
                    # sends it on with its problems, as the console's second button does.
                    done = await client.post(
                        f"/work/{task['id']}/submit", json={**keyed, "submit_with_problems": True}
                    )
                if done.status_code == 200:
                    pairs += 1

    await asyncio.gather(*[operator(client) for client in clients])
    elapsed = (min(drained_at) if drained_at else time.perf_counter()) - started_at
    return latencies, pairs / max(elapsed, 1e-6), pairs


async def baseline(
    dsn: str, rows: int, connections: int, seconds: float
) -> tuple[list[float], float]:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "DROP TABLE IF EXISTS plain_queue; CREATE TABLE plain_queue (id bigserial primary key,"
        " status text not null default 'open', holder int, urgency bigint not null)"
    )
    await setup.execute(
        "INSERT INTO plain_queue (urgency) SELECT g FROM generate_series(1, $1) g", rows
    )
    await setup.execute("CREATE INDEX ON plain_queue (status, urgency)")
    await setup.close()
    latencies: list[float] = []
    pairs = 0
    started_at = time.perf_counter()
    stop_at = started_at + seconds
    drained_at: list[float] = []

    async def worker(n: int) -> None:
        nonlocal pairs
        connection = await asyncpg.connect(dsn)
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                async with connection.transaction():
                    claimed = await connection.fetchval(
                        "UPDATE plain_queue SET status = 'leased', holder = $1"
                        " WHERE id = (SELECT id FROM plain_queue WHERE status = 'open'"
                        " ORDER BY urgency LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
                        n,
                    )
                latencies.append(time.perf_counter() - started)
                if claimed is None:
                    drained_at.append(time.perf_counter())
                    return
                async with connection.transaction():
                    await connection.execute(
                        "UPDATE plain_queue SET status = 'done' WHERE id = $1", claimed
                    )
                pairs += 1
        finally:
            await connection.close()

    await asyncio.gather(*[worker(n) for n in range(connections)])
    elapsed = (min(drained_at) if drained_at else time.perf_counter()) - started_at
    return latencies, pairs / max(elapsed, 1e-6)


async def library(
    dsn: str, rows: int, connections: int, seconds: float
) -> tuple[list[float], float]:
    """PgQueuer on the same PostgreSQL: ``rows`` jobs enqueued, then ``connections`` workers
    each dequeue one job (its SKIP LOCKED pick, marking it picked by this worker) and complete
    it (``log_jobs``: the job leaves the queue and its log row is written), one job at a time,
    as an operator claims and submits one form at a time. PgQueuer's own worker loop would batch
    completions in a buffer; completing each job at once is the like-for-like comparison with a
    submit that is answered only when it is stored."""
    from datetime import timedelta
    from uuid import uuid4

    from pgqueuer.queries import EntrypointExecutionParameter, Queries

    setup = await asyncpg.connect(dsn)
    queries = Queries.from_asyncpg_connection(setup)
    if await queries.schema_is_installed():
        await queries.uninstall()
    await queries.install()
    for start in range(0, rows, 10_000):
        count = min(10_000, rows - start)
        await queries.enqueue(["form"] * count, [b"{}"] * count, list(range(start, start + count)))
    await setup.close()
    entrypoints = {"form": EntrypointExecutionParameter(concurrency_limit=0)}
    latencies: list[float] = []
    pairs = 0
    started_at = time.perf_counter()
    stop_at = started_at + seconds
    drained_at: list[float] = []

    async def worker() -> None:
        nonlocal pairs
        connection = await asyncpg.connect(dsn)
        worker_queries = Queries.from_asyncpg_connection(connection)
        manager = uuid4()
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                jobs = await worker_queries.dequeue(
                    batch_size=1,
                    entrypoints=entrypoints,
                    queue_manager_id=manager,
                    global_concurrency_limit=None,
                    heartbeat_timeout=timedelta(seconds=30),
                )
                latencies.append(time.perf_counter() - started)
                if not jobs:
                    drained_at.append(time.perf_counter())
                    return
                await worker_queries.log_jobs([(jobs[0], "successful", None)])
                pairs += 1
        finally:
            await connection.close()

    await asyncio.gather(*[worker() for _ in range(connections)])
    elapsed = (min(drained_at) if drained_at else time.perf_counter()) - started_at
    return latencies, pairs / max(elapsed, 1e-6)


async def ceiling(urls: list[str], connections: int, seconds: float) -> float:
    """Pairs per second of two bare requests (a claim and a submit that do nothing), from the
    same lean clients, against a bare ASGI app under the same uvicorn: the most any HTTP
    service on this stack and machine could do, before any database or validation work."""
    clients = [
        LeanClient(
            urls[n % len(urls)] + "/api/v1", timeout=60, headers={"Authorization": "Bearer x"}
        )
        for n in range(connections)
    ]
    pairs = 0
    started_at = time.perf_counter()
    stop_at = started_at + seconds

    async def operator(client: LeanClient) -> None:
        nonlocal pairs
        async with client:
            while time.perf_counter() < stop_at:
                await client.post("/work/claim", json={"kinds": ["entry"]})
                await client.post("/work/0/submit", json={"lease_token": "t", "values": {}})
                pairs += 1

    await asyncio.gather(*[operator(client) for client in clients])
    return pairs / (time.perf_counter() - started_at)


@register("queue")
async def run(options: BenchOptions) -> Result:
    tasks = options.param("tasks", 5_000 if options.quick else 100_000)
    count = options.param("operators", 50)
    seconds = options.param("seconds", 8.0 if options.quick else 30.0)
    keying_s = options.param("keying_s", 2.0)
    rounds = options.rounds or (1 if options.quick else 3)
    process_counts = options.param("processes", [1] if options.quick else [1, 2])
    result = Result("queue")
    url = options.database_url("postgres", "bench_queue")
    database = url.rsplit("/", 1)[1]
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    lines = [status_report_line(n) for n in range(tasks)]
    # No announcements rendered ahead: the lobby's prerender job synthesises speech in a thread
    # of the server (about a seventh of its CPU in a profile), work no part of the queue's pairs.
    server_env = {"MADOGUCHI_SPEECH__PRERENDER_EVERY_S": "0", **options.env_params()}
    for processes in process_counts:
        figures: dict[str, list[float | None]] = {
            k: []
            for k in (
                "p50",
                "p99",
                "rate",
                "paced_p50",
                "paced_p99",
                "base_p50",
                "base_p99",
                "base_rate",
                "lib_p99",
                "lib_rate",
                "ceiling",
                "server_ms",
                "server_net_ms",
                "postgres_ms",
                "other_pct",
            )
        }
        for round_ in range(rounds):
            await recreate_database(url)
            demo = await asyncio.to_thread(seed_demo, url, options.env_params())
            with servers(
                url, processes, options.workdir, f"queue-{processes}-{round_}", server_env
            ) as started:
                urls = [s.url for s in started]
                options.log(f"queue: {processes} process(es): loading {tasks} applications")
                await send(urls[0], demo["tokens"]["intake"], lines, 5000)
                tokens = await operators(urls[0], demo["tokens"]["admin"], count)
                options.log(
                    f"queue: {count} operators keying for {seconds:g} s ({keying_s:g} s a form)"
                )
                paced, _rate, _pairs = await drive(urls, tokens, seconds, keying_s)
                options.log(f"queue: {count} operators flat out for {seconds:g} s")
                # CPU from /proc over the flat-out window: the servers', their database's
                # backends', and what the rest of the host used meanwhile (other work).
                # The servers' own rate at rest (jobs, timers) first: at a few hundred pairs a
                # second it is a large part of the CPU a pair is charged on a busy host.
                rest_before = sum(read_cpu_s(s.pid) for s in started)
                rest_at = time.monotonic()
                await asyncio.sleep(3.0)
                at_rest = (sum(read_cpu_s(s.pid) for s in started) - rest_before) / (
                    time.monotonic() - rest_at
                )
                host = host_mark(database)
                servers_before = sum(read_cpu_s(s.pid) for s in started)
                latencies, rate, pairs = await drive(urls, tokens, seconds)
                server_cpu = sum(read_cpu_s(s.pid) for s in started) - servers_before
                machine = host_since(host, server_cpu, database)
                wall = time.monotonic() - host.at
            figures["server_ms"].append(1000 * server_cpu / pairs if pairs else None)
            figures["server_net_ms"].append(
                1000 * max(0.0, server_cpu - at_rest * wall) / pairs if pairs else None
            )
            figures["postgres_ms"].append(
                10 * machine["postgres_pct"] * wall / pairs if pairs else None
            )
            figures["other_pct"].append(machine["other_pct"])
            figures["p50"].append(1000 * statistics.median(latencies))
            figures["p99"].append(1000 * (percentile(latencies, 0.99) or 0))
            figures["paced_p50"].append(1000 * statistics.median(paced))
            figures["paced_p99"].append(1000 * (percentile(paced, 0.99) or 0))
            figures["rate"].append(rate)
            base_latencies, base_rate = await baseline(dsn, tasks, count, seconds)
            figures["base_p50"].append(1000 * statistics.median(base_latencies))
            figures["base_p99"].append(1000 * (percentile(base_latencies, 0.99) or 0))
            figures["base_rate"].append(base_rate)
            lib_latencies, lib_rate = await library(dsn, tasks, count, seconds)
            figures["lib_p99"].append(1000 * (percentile(lib_latencies, 0.99) or 0))
            figures["lib_rate"].append(lib_rate)
            bare = [
                await BaselineServer(
                    "http", options.workdir / f"queue-ceiling-{processes}-{round_}-{i}.log"
                ).start()
                for i in range(processes)
            ]
            try:
                figures["ceiling"].append(
                    await ceiling([b.url for b in bare], count, min(seconds, 10.0))
                )
            finally:
                for server in bare:
                    server.stop()
        group = f"postgres, {processes} process(es), {count} operators, {tasks:,} tasks"
        result.rows += [
            Row.from_rounds(
                f"claim p50, keying {keying_s:g} s/form", "ms", figures["paced_p50"], group=group
            ),
            Row.from_rounds(
                f"claim p99, keying {keying_s:g} s/form",
                "ms",
                figures["paced_p99"],
                baseline=figures["base_p99"],
                target=Target("<=", 50),
                group=group,
            ),
            Row.from_rounds(
                "claim p50, flat out",
                "ms",
                figures["p50"],
                baseline=figures["base_p50"],
                group=group,
            ),
            Row.from_rounds(
                "claim p99, flat out",
                "ms",
                figures["p99"],
                baseline=figures["base_p99"],
                group=group,
            ),
            Row.from_rounds(
                "claim+submit, flat out",
                "1/s",
                figures["rate"],
                baseline=figures["base_rate"],
                target=None,
                group=group,
            ),
        ]
        result.rows += [
            Row.from_rounds(
                "server CPU per claim+submit, flat out",
                "ms",
                figures["server_ms"],
                target=Target("<=", 3.0),
                group=group,
            ),
            Row.from_rounds(
                "server CPU per claim+submit, less the servers' rate at rest",
                "ms",
                figures["server_net_ms"],
                group=group,
            ),
            Row.from_rounds(
                "PostgreSQL CPU per claim+submit, flat out",
                "ms",
                figures["postgres_ms"],
                group=group,
            ),
            Row.from_rounds(
                "other load on the host, flat out (% of a core)",
                "%",
                figures["other_pct"],
                group=group,
            ),
        ]
        result.rows.append(
            Row.from_rounds(
                "PgQueuer dequeue+complete, flat out (claim p99 in the next row)",
                "1/s",
                figures["lib_rate"],
                group=group,
            )
        )
        result.rows.append(
            Row.from_rounds("PgQueuer dequeue p99, flat out", "ms", figures["lib_p99"], group=group)
        )
        lib_ratios = [
            r / b for r, b in zip(figures["rate"], figures["lib_rate"], strict=True) if r and b
        ]
        result.rows.append(
            Row.from_rounds(
                "claim+submit ÷ PgQueuer",
                "×",
                lib_ratios,
                target=Target(">=", 1.0),
                group=group,
            )
        )
        ratios = [
            r / b for r, b in zip(figures["rate"], figures["base_rate"], strict=True) if r and b
        ]
        result.rows.append(
            Row.from_rounds(
                "claim+submit ÷ SKIP LOCKED loop",
                "×",
                ratios,
                group=group,
            )
        )
        result.rows.append(
            Row.from_rounds(
                "HTTP ceiling: 2 bare requests a pair",
                "1/s",
                figures["ceiling"],
                baseline=figures["base_rate"],
                group=group,
            )
        )
    result.notes.append(
        "HTTP ceiling: as many uvicorn processes (as `madoguchi serve`) with an ASGI app that "
        "answers at once, the same lean clients and connections; its ratio is the most the target "
        "ratio could be for any HTTP service on this machine"
    )
    result.notes.append(
        "baseline: the textbook UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) claim and "
        "an UPDATE to complete, on a bare table, same connections, same run"
    )
    return result
