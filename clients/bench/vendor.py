"""Vendor batches at scale: seal a 10,000-item (and a 100,000-item) batch and stream it in every
format and encoding from a ``madoguchi serve`` process, sampling the server's memory.

Figures per database and size: sealing time, items/s streamed per file, the server's peak RSS
while sealing and while streaming; the baseline reads the same frozen rows with a plain keyset
SELECT in this process (the database's floor). Memory should stay flat as the batch grows.

    python -m clients.bench vendor --quick
    python -m clients.bench.vendor --quick --db sqlite        # on its own
"""

import argparse
import asyncio
import copy
import hashlib
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx2

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


async def measure(options: BenchOptions, db: str, count: int, round_: int) -> dict[str, Any]:
    url = options.database_url(db, "bench_vendor")
    await recreate_database(url)
    demo = await asyncio.to_thread(seed_demo, url, options.env_params())
    options.log(f"vendor: {db}: {count:,} entry tasks")
    await fill(url, count)
    env = {"MADOGUCHI_VENDOR__SCHEDULE": "false", **options.env_params()}
    figures: dict[str, Any] = {"stream_s": {}, "stream_rss_mb": 0.0}
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
            mark = server.sampler.mark()
            started = time.perf_counter()
            sealed = await client.post(f"/admin/vendor-contracts/{contract['id']}/seal")
            figures["seal_s"] = time.perf_counter() - started
            figures["seal_rss_mb"] = server.sampler.since(mark).rss_peak_mb
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
                mark = server.sampler.mark()
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
                if digest.hexdigest() != files[(fmt, encoding)]["sha256"]:
                    raise RuntimeError(
                        f"{fmt}/{encoding}: the download does not match the manifest"
                    )
                figures.setdefault("bytes", {})[(fmt, encoding)] = size
    figures["floor_s"] = await floor(url, batch["id"])
    return figures


@register("vendor")
async def run(options: BenchOptions) -> Result:
    sizes = options.param("sizes", [10_000, 30_000] if options.quick else [10_000, 100_000])
    rounds = options.rounds or 1
    result = Result("vendor")
    for db in options.dbs or ["postgres", "sqlite"]:
        peaks: dict[int, list[float]] = {}
        for count in sizes:
            runs = [await measure(options, db, count, r) for r in range(rounds)]
            group = f"{db}, 1 process, {count:,} items"
            target = (lambda t: t) if count <= 10_000 else (lambda _t: None)
            result.rows.append(
                Row.from_rounds(
                    "seal (select, freeze, checksum 6 files)",
                    "s",
                    [f["seal_s"] for f in runs],
                    target=target(Target("<=", 2.0)),
                    group=group,
                )
            )
            result.rows.append(
                Row.from_rounds(
                    "seal rate", "items/s", [f["items"] / f["seal_s"] for f in runs], group=group
                )
            )
            floor_rate = [f["items"] / f["floor_s"] for f in runs]
            for fmt, encoding in FILES:
                result.rows.append(
                    Row.from_rounds(
                        f"stream {fmt} {encoding}",
                        "items/s",
                        [f["items"] / f["stream_s"][(fmt, encoding)] for f in runs],
                        baseline=floor_rate,
                        target=target(Target(">=", 5000)),
                        group=group,
                        note="baseline: keyset SELECT of the frozen rows, no HTTP",
                    )
                )
            result.rows.append(
                Row.from_rounds(
                    "server peak RSS, sealing", "MB", [f["seal_rss_mb"] for f in runs], group=group
                )
            )
            result.rows.append(
                Row.from_rounds(
                    "server peak RSS, streaming",
                    "MB",
                    [f["stream_rss_mb"] for f in runs],
                    group=group,
                )
            )
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
