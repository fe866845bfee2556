"""Bulk intake at mail-room scale: OCR'd 現況届 through /applications/bulk, against plain SQL.

Figures: lines/s validated and stored, the server's peak memory; the baseline inserts the same
number of application and task rows with one batched INSERT per table in the same run. Also the
CPU a line of each side, from /proc while the lines are sent: the server process, its bulk
worker processes (the checking), the database's PostgreSQL backends, and the host's other load.
One line is sent before the measured ones, so that the worker's start is not in the figures.
"""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx2

from clients.bench.procstat import host_mark, host_since, read_cpu_s, tree_cpu_s
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


def _database_name(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "postgresql" else None


def status_report_line(n: int) -> bytes:
    """One OCR'd 児童扶養手当 現況届, as the OCR product sends it."""
    body: dict[str, Any] = {
        "procedure": "child_rearing.status_report",
        "channel": "bulk_ocr",
        "received_at": datetime.now(UTC).isoformat(),
        "external_ref": f"GENKYO-{n:07d}",
        "applicant": {"family_name": "佐藤", "given_name": "花子", "household_ref": f"H{n}"},
        "fields": {
            "filing_date": "令和8年8月10日",
            "claimant_name": "佐藤 花子",
            "claimant_kana": "さとう はなこ",
            "claimant_birth_date": "平成2年5月5日",
            "claimant_sex": "female",
            "claimant_address": f"熊本市東区月出{n % 9 + 1}丁目{n % 30 + 1}番",
            "claimant_phone": "096-000-0000",
            "claimant_my_number": "123456789018",
            "certificate_number": f"K-{n:07d}",
            "children": [
                {
                    "name": "佐藤 陽",
                    "kana": "サトウ ヒナタ",
                    "birth_date": "H30.1.9",
                    "relationship": "子",
                    "living_together": "はい",
                    "my_number": "987654321093",
                }
            ],
            "previous_year_income": "1800000",
            "child_support_amount": "0",
            "receives_public_pension": "いいえ",
        },
        "ocr": {
            "claimant_name": {"value": "佐藤 花子", "confidence": 0.98},
            "claimant_address": {"value": "熊本市東区月出", "confidence": 0.81},
        },
    }
    return (json.dumps(body, ensure_ascii=False) + "\n").encode()


async def send(
    url: str, token: str, lines: list[bytes], chunk: int
) -> tuple[float, dict[str, int]]:
    counts: dict[str, int] = {}
    started = time.perf_counter()
    async with httpx2.AsyncClient(
        base_url=url + "/api/v1",
        timeout=600,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
    ) as client:
        for first in range(0, len(lines), chunk):
            response = await client.post(
                "/applications/bulk", content=b"".join(lines[first : first + chunk])
            )
            response.raise_for_status()
            for raw in response.text.splitlines():
                status = json.loads(raw)["status"]
                counts[status] = counts.get(status, 0) + 1
    return time.perf_counter() - started, counts


async def plain_insert(url: str, lines: list[bytes]) -> float:
    """The same rows by the plainest fast path: one multi-row INSERT per table and batch."""
    from sqlalchemy import text

    from app.storage.db import create_engine

    engine = create_engine(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TEMPORARY TABLE plain_application (id varchar(32) primary key,"
                " municipality_code varchar(6), procedure varchar(64), external_ref varchar(200),"
                " body text, created_at timestamp)"
            )
        )
        await connection.execute(
            text(
                "CREATE TEMPORARY TABLE plain_task (id varchar(32) primary key,"
                " application_id varchar(32), kind varchar(16), status varchar(16), urgency bigint)"
            )
        )
    for first in range(0, len(lines), 2000):
        async with engine.begin() as connection:
            apps, tasks = [], []
            for raw in lines[first : first + 2000]:
                body = json.loads(raw)
                app_id = uuid.uuid4().hex
                apps.append(
                    {
                        "id": app_id,
                        "m": "431001",
                        "p": body["procedure"],
                        "r": body["external_ref"],
                        "b": json.dumps(body["fields"], ensure_ascii=False),
                        "c": now.replace(tzinfo=None),
                    }
                )
                tasks.append(
                    {"id": uuid.uuid4().hex, "a": app_id, "k": "entry", "s": "open", "u": 0}
                )
            await connection.execute(
                text("INSERT INTO plain_application VALUES (:id, :m, :p, :r, :b, :c)"), apps
            )
            await connection.execute(
                text("INSERT INTO plain_task VALUES (:id, :a, :k, :s, :u)"), tasks
            )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


@register("intake")
async def run(options: BenchOptions) -> Result:
    count = options.param("lines", 10_000 if options.quick else 100_000)
    rounds = options.rounds or 1
    chunk = options.param("chunk", 5000)
    result = Result("intake")
    lines = [status_report_line(n) for n in range(count)]
    for db in options.dbs or ["postgres", "sqlite"]:
        rates: list[float | None] = []
        baselines: list[float | None] = []
        peaks: list[float | None] = []
        cpu: dict[str, list[float | None]] = {"server": [], "workers": [], "postgres": []}
        other: list[float | None] = []
        for round_ in range(rounds):
            url = options.database_url(db, "bench_intake")
            await recreate_database(url)
            demo = await asyncio.to_thread(seed_demo, url, options.env_params())
            log = options.workdir / f"intake-{db}-{round_}.log"
            with ServerProcess(url, log, options.env_params()) as server:
                options.log(f"intake: {db}: {count} lines in chunks of {chunk}")
                database = _database_name(url)
                # One line first, not counted: the server's bulk worker starts (a fresh
                # interpreter, about a second of CPU) before the measured lines.
                await send(server.url, demo["tokens"]["intake"], [status_report_line(-1)], 1)
                host, before = host_mark(database), tree_cpu_s(server.pid)
                elapsed, counts = await send(server.url, demo["tokens"]["intake"], lines, chunk)
                after = tree_cpu_s(server.pid)
                own = read_cpu_s(server.pid) - before.get(server.pid, 0.0)
                workers = sum(s - before.get(p, 0.0) for p, s in after.items() if p != server.pid)
                machine = host_since(host, own + workers, database)
                cpu["server"].append(own / count * 1e6)
                cpu["workers"].append(workers / count * 1e6)
                cpu["postgres"].append(machine["postgres_pct"] / 100 * elapsed / count * 1e6)
                other.append(machine["other_pct"])
                options.log(
                    f"intake: {db}: {count / elapsed:.0f} lines/s; CPU a line: server "
                    f"{cpu['server'][-1]:.0f} µs, workers {cpu['workers'][-1]:.0f} µs, "
                    f"PostgreSQL {cpu['postgres'][-1]:.0f} µs; other load on the host "
                    f"{other[-1]:.0f} % of a core"
                )
                assert server.sampler is not None
                peaks.append(server.sampler.peak_rss_bytes() / 1e6)
            if counts.get("created") != count:
                result.notes.append(f"{db}: expected {count} created, got {counts}")
            rates.append(count / elapsed)
            baselines.append(count / await plain_insert(url, lines))
        group = f"{db}, 1 process, {count:,} lines"
        result.rows.append(
            Row.from_rounds(
                "lines/s stored",
                "1/s",
                rates,
                baseline=baselines,
                target=Target(">=", 5000),
                group=group,
                note="baseline: plain batched INSERT of the same rows; also asked: >= 0.25x",
            )
        )
        result.rows.append(
            Row.from_rounds(
                "server peak RSS", "MB", peaks, target=Target("<=", 300, "max"), group=group
            )
        )
        for side, values in cpu.items():
            if db == "sqlite" and side == "postgres":
                continue
            result.rows.append(Row.from_rounds(f"CPU a line, {side}", "µs", values, group=group))
        result.rows.append(
            Row.from_rounds("other load on the host", "% of a core", other, group=group)
        )
    return result
