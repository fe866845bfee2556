"""Vendor batches at scale: seal a 10,000-item (and a 100,000-item) batch and stream it in every
format and encoding from a ``madoguchi serve`` process, sampling the server's memory.

Figures per database and size: sealing time, items/s streamed per file, sealing plus one
download (the issue's 5 s at 100,000 items), the server's peak RSS while sealing and while
streaming, and the host's other load. The baseline, timed in the same round: on PostgreSQL
``COPY (SELECT …) TO STDOUT`` of the same rows into a sink that counts the bytes (through
asyncpg's ``copy_from_query``): the batch's frozen rows for the downloads, the tasks and forms
the seal reads for the seal; on SQLite a plain keyset SELECT of the frozen rows in this process.
Memory should stay flat as the batch grows.

    python -m clients.bench vendor --quick
    python -m clients.bench.vendor --quick --db sqlite        # on its own
    madoguchi-bench vendor --full --db postgres --opt sizes=100000 \
        --opt database_url=postgresql+asyncpg://postgres@127.0.0.1:5432/mydb   # emptied, kept
"""

import argparse
import asyncio
import copy
import hashlib
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx2

from clients.bench.procstat import host_mark, host_since
from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    ServerProcess,
    Target,
    format_table,
    recreate_database,
    register,
    seed_demo,
)

FILES = [(f, e) for f in ("jsonl", "csv") for e in ("utf-8", "utf-8-sig", "cp932")]
NAMES = ["佐藤 花子", "髙橋 ①子", "鈴木 一郎", "渡邉 﨑子", "田中 陽"]
ALLOW = [
    "applicant.family_name",
    "claimant_name",
    "claimant_kana",
    "claimant_birth_date",
    "claimant_address",
    "certificate_number",
    "children",
]


def template() -> tuple[dict[str, Any], dict[str, Any]]:
    """One validated 現況届 and its entry task, as rows; copies differ in ids and names."""
    from app.domain.applications import TaskKind
    from app.domain.roles import Principal, Role
    from app.services import intake

    now = datetime.now(UTC)
    envelope = intake.Envelope(
        procedure="child_rearing.status_report",
        channel="bulk_ocr",
        received_at=now,
        external_ref=None,
        ticket=None,
        applicant={"family_name": "佐藤", "given_name": "花子"},
        fields={
            "filing_date": "令和8年8月10日",
            "claimant_name": "佐藤 花子",
            "claimant_kana": "サトウ ハナコ",
            "claimant_birth_date": "平成2年5月5日",
            "claimant_sex": "female",
            "claimant_address": "熊本市東区月出３－１",
            "claimant_my_number": "123456789018",
            "certificate_number": "K-2024-001",
            "previous_year_income": 1800000,
            "children": [
                {
                    "name": "佐藤 陽",
                    "kana": "サトウ ヒナタ",
                    "birth_date": "平成30年1月9日",
                    "relationship": "子",
                    "living_together": True,
                    "my_number": "987654321093",
                }
            ],
        },
        ocr={"claimant_name": {"value": "佐藤 花子", "confidence": 0.97}},
        attachments=[],
        support_measure=False,
    )
    sender = Principal(token_id="bench", municipality_code="431001", role=Role.INTAKE, name="bench")
    application = intake.build_application(sender, envelope, now)
    task = intake.new_task(application, TaskKind.ENTRY, now)
    return application.model_dump(), task.model_dump()


async def fill(url: str, count: int) -> None:
    """``count`` open entry tasks of the central queue, inserted directly (setup, not measured)."""
    from sqlalchemy import insert

    from app.storage.db import create_engine
    from app.storage.tables import Application, Task

    application, task = template()
    engine = create_engine(url)
    try:
        for first in range(0, count, 5000):
            applications, tasks = [], []
            for n in range(first, min(count, first + 5000)):
                app_id = uuid.uuid4().hex
                values = copy.copy(application["values"])
                values["claimant_name"] = f"{NAMES[n % len(NAMES)]}{n}"
                values["certificate_number"] = f"K-{n:07d}"
                applications.append(
                    {**application, "id": app_id, "values": values, "household_key": f"bench{n}"}
                )
                tasks.append(
                    {
                        **task,
                        "id": uuid.uuid4().hex,
                        "application_id": app_id,
                        "household_key": f"bench{n}",
                    }
                )
            async with engine.begin() as connection:
                await connection.execute(insert(Application), applications)
                await connection.execute(insert(Task), tasks)
    finally:
        await engine.dispose()


async def floor(url: str, batch_id: str) -> float:
    """Seconds to read the batch's frozen rows with plain keyset SELECTs of 1,000 (no HTTP, no
    format)."""
    from app.storage.batches import payloads_after
    from app.storage.db import create_engine, make_sessionmaker

    engine = create_engine(url)
    started = time.perf_counter()
    try:
        after = 0
        while True:
            async with make_sessionmaker(engine)() as session:
                rows = await payloads_after(session, batch_id, after, 1000)
            if not rows:
                return time.perf_counter() - started
            after = rows[-1][0]
    finally:
        await engine.dispose()


# The rows the seal reads (the batch's tasks with their forms, in sealing order) and the rows
# a download sends (the batch's frozen lines): what the COPY baselines copy out.
SOURCE_ROWS = (
    'SELECT t.id, t.urgency, a.id, a."values", a.applicant, a.ocr, a.due_on'
    " FROM task t JOIN application a ON a.id = t.application_id"
    " WHERE t.batch_id = $1 ORDER BY t.urgency, t.id"
)
FROZEN_ROWS = "SELECT seq, payload FROM vendor_batch_item WHERE batch_id = $1 ORDER BY seq"


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def copy_out(url: str, query: str, batch_id: str) -> tuple[float, int]:
    """Seconds and bytes of ``COPY (query) TO STDOUT`` into a sink that only counts."""
    import asyncpg

    size = 0

    async def sink(data: bytes) -> None:
        nonlocal size
        size += len(data)

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        await connection.copy_from_query(query, batch_id, output=sink)
        return time.perf_counter() - started, size
    finally:
        await connection.close()


async def empty_database(url: str) -> None:
    """A database of one's own (``--opt database_url=…``): emptied, never dropped."""
    if not url.startswith("postgresql"):
        await recreate_database(url)
        return
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def database_for(options: BenchOptions, db: str) -> tuple[str, bool]:
    """The database URL and whether it is the caller's own (``--opt database_url``)."""
    explicit = options.params.get("database_url")
    if explicit and ("postgres" if explicit.startswith("postgresql") else "sqlite") == db:
        return explicit, True
    return options.database_url(db, "bench_vendor"), False


async def measure(options: BenchOptions, db: str, count: int, round_: int) -> dict[str, Any]:
    url, own = database_for(options, db)
    await (empty_database(url) if own else recreate_database(url))
    database = url.rsplit("/", 1)[-1] if db == "postgres" else None
    demo = await asyncio.to_thread(seed_demo, url, options.env_params())
    options.log(f"vendor: {db}: {count:,} entry tasks")
    await fill(url, count)
    env = {"MADOGUCHI_VENDOR__SCHEDULE": "false", **options.env_params()}
    figures: dict[str, Any] = {"stream_s": {}, "stream_rss_mb": 0.0, "other_pct": []}
    with ServerProcess(url, options.workdir / f"vendor-{db}-{count}-{round_}.log", env) as server:
        assert server.sampler is not None
        admin = {"Authorization": f"Bearer {demo['tokens']['admin']}"}
        async with httpx2.AsyncClient(
            base_url=server.url + "/api/v1", timeout=600, headers=admin
        ) as client:
            contract = (
                await client.post(
                    "/admin/vendor-contracts",
                    json={
                        "vendor_name": "bench",
                        "procedures": ["child_rearing.status_report"],
                        "field_allow_list": ALLOW,
                        "encodings": ["utf-8", "utf-8-sig", "cp932"],
                        "batch_size": count,
                    },
                )
            ).json()
            token = (
                await client.post(
                    f"/admin/vendor-contracts/{contract['id']}/tokens", json={"name": "bench"}
                )
            ).json()["token"]
            mark, host = server.sampler.mark(), host_mark(database)
            started = time.perf_counter()
            sealed = await client.post(f"/admin/vendor-contracts/{contract['id']}/seal")
            figures["seal_s"] = time.perf_counter() - started
            window = server.sampler.since(mark)
            figures["seal_rss_mb"] = window.rss_peak_mb
            figures["other_pct"].append(host_since(host, window.cpu_s, database)["other_pct"])
            sealed.raise_for_status()
            [batch] = sealed.json()["batches"]
            figures["items"] = batch["item_count"]
        vendor = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(
            base_url=server.url + "/api/v1", timeout=600, headers=vendor
        ) as client:
            grant = (await client.post(f"/vendor/batches/{batch['id']}/lease")).json()
            files = {(f["format"], f["encoding"]): f for f in grant["manifest"]["files"]}
            for fmt, encoding in FILES:
                digest, size = hashlib.sha256(), 0
                mark, host = server.sampler.mark(), host_mark(database)
                started = time.perf_counter()
                async with client.stream(
                    "GET",
                    f"/vendor/batches/{batch['id']}/items",
                    params={"format": fmt, "encoding": encoding},
                    headers={"Lease-Token": grant["lease_token"]},
                ) as response:
                    response.raise_for_status()
                    async for chunk in response.aiter_bytes():
                        digest.update(chunk)
                        size += len(chunk)
                figures["stream_s"][(fmt, encoding)] = time.perf_counter() - started
                window = server.sampler.since(mark)
                figures["stream_rss_mb"] = max(figures["stream_rss_mb"], window.rss_peak_mb)
                figures["other_pct"].append(host_since(host, window.cpu_s, database)["other_pct"])
                if digest.hexdigest() != files[(fmt, encoding)]["sha256"]:
                    raise RuntimeError(
                        f"{fmt}/{encoding}: the download does not match the manifest"
                    )
                figures.setdefault("bytes", {})[(fmt, encoding)] = size
        if db == "postgres":
            figures["copy_source_s"], _ = await copy_out(url, SOURCE_ROWS, batch["id"])
            figures["copy_s"], copied = await copy_out(url, FROZEN_ROWS, batch["id"])
            options.log(f"vendor: {db}: COPY of the frozen rows {copied:,} bytes")
    figures["floor_s"] = await floor(url, batch["id"])
    figures["other_pct"] = statistics.median(figures["other_pct"])
    options.log(
        f"vendor: {db}: {count:,} items: seal {figures['seal_s']:.2f} s, "
        + ", ".join(f"{f}/{e} {s:.2f} s" for (f, e), s in figures["stream_s"].items())
        + (f", COPY {figures['copy_s']:.3f} s" if "copy_s" in figures else "")
    )
    return figures


def _rows(db: str, count: int, runs: list[dict[str, Any]]) -> list[Row]:
    group = f"{db}, 1 process, {count:,} items"
    target = (lambda t: t) if count <= 10_000 else (lambda _t: None)
    copying = db == "postgres"
    rows = [
        Row.from_rounds(
            "seal (select, freeze, checksum 6 files)",
            "s",
            [f["seal_s"] for f in runs],
            baseline=[f["copy_source_s"] for f in runs] if copying else None,
            target=target(Target("<=", 2.0)),
            group=group,
            note="baseline: COPY of the tasks and forms the seal read" if copying else "",
        ),
        Row.from_rounds(
            "seal rate", "items/s", [f["items"] / f["seal_s"] for f in runs], group=group
        ),
    ]
    floor_rate = [f["items"] / f["copy_s" if copying else "floor_s"] for f in runs]
    for fmt, encoding in FILES:
        rows.append(
            Row.from_rounds(
                f"stream {fmt} {encoding}",
                "items/s",
                [f["items"] / f["stream_s"][(fmt, encoding)] for f in runs],
                baseline=floor_rate,
                target=target(Target(">=", 5000)),
                group=group,
                note="baseline: COPY of the frozen rows"
                if copying
                else "baseline: keyset SELECT of the frozen rows, no HTTP",
            )
        )
    for fmt in ("jsonl", "csv"):
        rows.append(
            Row.from_rounds(
                f"seal + stream {fmt} utf-8",
                "s",
                [f["seal_s"] + f["stream_s"][(fmt, "utf-8")] for f in runs],
                baseline=[f["copy_s" if copying else "floor_s"] for f in runs],
                target=Target("<=", 5.0) if count >= 100_000 else None,
                group=group,
            )
        )
    if copying:
        rows.append(
            Row.from_rounds(
                "COPY (SELECT the frozen rows) TO STDOUT",
                "s",
                [f["copy_s"] for f in runs],
                group=group,
            )
        )
    rows += [
        Row.from_rounds(
            "server peak RSS, sealing", "MB", [f["seal_rss_mb"] for f in runs], group=group
        ),
        Row.from_rounds(
            "server peak RSS, streaming", "MB", [f["stream_rss_mb"] for f in runs], group=group
        ),
        Row.from_rounds(
            "other load on the host (noise)", "% core", [f["other_pct"] for f in runs], group=group
        ),
    ]
    return rows


@register("vendor")
async def run(options: BenchOptions) -> Result:
    sizes = options.param("sizes", [10_000, 30_000] if options.quick else [10_000, 100_000])
    rounds = options.rounds or 1
    result = Result("vendor")
    for db in options.dbs or ["postgres", "sqlite"]:
        peaks: dict[int, list[float]] = {}
        for count in sizes:
            runs = [await measure(options, db, count, r) for r in range(rounds)]
            result.rows += _rows(db, count, runs)
            peaks[count] = [max(f["seal_rss_mb"], f["stream_rss_mb"]) for f in runs]
            result.details[f"{db}/{count}"] = {
                "bytes": {f"{k[0]}/{k[1]}": v for k, v in runs[0]["bytes"].items()}
            }
        if len(sizes) > 1:
            small, large = min(sizes), max(sizes)
            growth = [b - a for a, b in zip(peaks[small], peaks[large], strict=True)]
            result.rows.append(
                Row.from_rounds(
                    f"peak RSS growth {small:,} → {large:,} items",
                    "MB",
                    growth,
                    target=Target("<=", 50, "max"),
                    group=f"{db}, memory flat as the batch grows",
                )
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clients.bench.vendor", description=__doc__.splitlines()[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="quick", action="store_true", default=True)
    size.add_argument("--full", dest="quick", action="store_false")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    options = BenchOptions(
        quick=args.quick,
        rounds=args.rounds,
        dbs=None
        if args.db is None
        else (["sqlite", "postgres"] if args.db == "both" else [args.db]),
        params=dict(item.split("=", 1) for item in args.opt),
    )
    started = time.monotonic()
    result = asyncio.run(run(options))
    result.elapsed_s = time.monotonic() - started
    print(format_table([result]))
    return 1 if result.missed_targets() else 0


if __name__ == "__main__":
    sys.exit(main())
