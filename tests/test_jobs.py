"""Background jobs (app/jobs/): stale leases go back by themselves, the vendor schedule runs as a
job, one process at a time runs a job on PostgreSQL, failures and shutdown, `madoguchi jobs`."""

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.domain.clock import SystemClock
from app.jobs import JOBS, Job, JobContext, JobRunner, Report
from app.settings import DisplaySettings, QueueSettings, VendorSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.jobs import job_lock
from tests.api.test_vendor import Shifted, make_contract, report
from tests.api.test_vendor import receive as receive_report
from tests.api.test_work_queue import claim, entry_values, receive, submit, token
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server, seed


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> bool:
    for _ in range(int(seconds / 0.1)):
        if await check():
            return True
        await asyncio.sleep(0.1)
    return await check()


async def entry_step(server: LiveServer, office: Office) -> dict[str, Any]:
    """The supervisors' figures of the entry step, and who holds what."""
    async with server.client(office.token("supervisor")) as supervisor:
        stats = (await supervisor.get("/work/stats")).json()
    step = next(s for s in stats["steps"] if s["kind"] == "entry")
    return {
        "open": step["open"],
        "leased": step["leased"],
        "holding": [h for o in stats["operators"] for h in o["holding"]],
    }


async def metrics(server: LiveServer) -> str:
    async with httpx2.AsyncClient(base_url=server.url) as client:
        return (await client.get("/metrics")).text


async def test_a_lease_that_ran_out_goes_back_to_the_queue_with_no_request(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    off = make_settings(clean_db, queue=QueueSettings(lease_s=1, expire_every_s=0))
    async with run_server(off) as server:
        await receive(server, office, move_in())
        first, second = (
            await token(server, office, "operator", "A"),
            await token(server, office, "operator", "B"),
        )
        async with server.client(first) as a:
            task = await claim(a)
        assert task is not None
        await asyncio.sleep(1.3)
        # Without the job the queue's figures show the task held, its lease stuck.
        held = await entry_step(server, office)
        assert (held["open"], held["leased"]) == (0, 1)
        assert [h["stuck"] for h in held["holding"]] == [True]
    on = make_settings(clean_db, queue=QueueSettings(lease_s=1, expire_every_s=0.2))
    async with run_server(on) as server:

        async def back_in_the_queue() -> bool:
            step = await entry_step(server, office)
            return (step["open"], step["leased"], step["holding"]) == (1, 0, [])

        assert await eventually(back_in_the_queue)
        exposed = await metrics(server)
        assert 'madoguchi_job_last_success_timestamp_seconds{job="expire-leases"}' in exposed
        assert 'madoguchi_job_failures_total{job="expire-leases"} 0.0' in exposed
        leased = [
            line
            for line in exposed.splitlines()
            if line.startswith("madoguchi_queue_leased{") and 'kind="entry"' in line
        ]
        assert leased and all(line.endswith(" 0.0") for line in leased)
        async with server.client(second) as b, server.client(first) as a:
            taken = await claim(b)
            assert taken is not None and taken["id"] == task["id"]
            late = await submit(a, task, values=entry_values(task))
            assert late.status_code == 409 and late.json()["code"] == "stale_lease"
            assert (await submit(b, taken, values=entry_values(taken))).status_code == 200


async def test_the_running_server_seals_vendor_batches_on_the_contract_schedule(
    server: LiveServer, office: Office
) -> None:
    await receive_report(server, office, report())
    contract_id = await make_contract(server, office, seal_every_s=60)

    async def batches() -> list[dict[str, Any]]:
        async with server.client(office.token("admin")) as admin:
            listed = await admin.get("/admin/vendor-batches", params={"contract_id": contract_id})
        return list(listed.json()["items"])

    later = Shifted()
    later.offset = timedelta(seconds=61)
    settings = server.settings.model_copy(update={"vendor": VendorSettings(schedule_tick_s=0.2)})
    async with run_server(settings, clock=later):
        assert await eventually(lambda: _non_empty(batches()))
    assert [b["item_count"] for b in await batches()] == [1]
    off = server.settings.model_copy(
        update={"vendor": VendorSettings(schedule=False, schedule_tick_s=0.2)}
    )
    await receive_report(server, office, report("鈴木 一郎"))
    later.offset = timedelta(seconds=200)
    async with run_server(off, clock=later):
        await asyncio.sleep(1.0)
    assert len(await batches()) == 1  # schedule off: nothing sealed by itself


async def _non_empty(pending: Awaitable[list[Any]]) -> bool:
    return bool(await pending)


async def test_the_running_server_prunes_lobby_history_on_its_interval(clean_db: str) -> None:
    office = Office(await seed(clean_db))
    display = DisplaySettings(heartbeat_s=5.0, watchdog_s=1.0, history_events=2, prune_every_s=0.2)
    engine = create_engine(clean_db, poolclass=NullPool)

    async def kept() -> list[int]:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(
                text("SELECT seq FROM lobby_event WHERE office_id = :office ORDER BY seq"),
                {"office": office.id},
            )
            return [seq for (seq,) in rows]

    try:
        async with run_server(make_settings(clean_db, display=display)) as server:
            async with server.client(office.token("kiosk")) as kiosk:
                for _ in range(5):
                    issued = await kiosk.post(
                        f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                    )
                    assert issued.status_code == 201
            assert await eventually(lambda: _equal(kept(), [4, 5]))
    finally:
        await engine.dispose()


async def _equal(pending: Awaitable[list[int]], expected: list[int]) -> bool:
    return await pending == expected


# ---- the runner ------------------------------------------------------------------------------


def job(
    name: str, run_once: Callable[[JobContext], Awaitable[Report]], interval_s: float = 0.02
) -> Job:
    return Job(
        name=name,
        description="test",
        interval_s=lambda _settings: interval_s,
        setting="-",
        run_once=run_once,
    )


async def test_a_failing_job_is_logged_once_retried_and_counted(
    clean_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    failures = 3
    runs = 0

    async def flaky(_context: JobContext) -> Report:
        nonlocal failures, runs
        if failures:
            failures -= 1
            raise ConnectionRefusedError("the database system is starting up")
        runs += 1
        return Report("fine", 1)

    engine = create_engine(clean_db, poolclass=NullPool)
    context = JobContext(make_sessionmaker(engine), SystemClock(), make_settings(clean_db))
    runner = JobRunner([job("flaky", flaky)], context)
    try:
        with caplog.at_level(logging.INFO, logger="app.jobs.core"):
            runner.start()
            for _ in range(200):
                if runs:
                    break
                await asyncio.sleep(0.05)
            await runner.stop()
    finally:
        await engine.dispose()
    assert runs >= 1 and runner.stats["flaky"].failures == 3
    assert runner.stats["flaky"].last_success is not None
    records = [r for r in caplog.records if r.name == "app.jobs.core"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "job flaky failed" in warnings[0].getMessage()
    assert any("works again after 3 failed attempts" in r.getMessage() for r in records)


async def test_shutdown_lets_a_run_finish_and_cancels_one_that_hangs(clean_db: str) -> None:
    started, finished = asyncio.Event(), []

    async def slow(_context: JobContext) -> Report:
        started.set()
        await asyncio.sleep(0.3)
        finished.append("slow")
        return Report("done")

    async def stuck(_context: JobContext) -> Report:
        await asyncio.Event().wait()
        return Report("never")

    engine = create_engine(clean_db, poolclass=NullPool)
    context = JobContext(make_sessionmaker(engine), SystemClock(), make_settings(clean_db))
    runner = JobRunner([job("slow", slow, 60), job("stuck", stuck, 60)], context, grace_s=1.0)
    try:
        runner.start()
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.wait_for(runner.stop(), 5)
    finally:
        await engine.dispose()
    assert finished == ["slow"]
    assert all(task.done() for task in runner.tasks.values())
    assert runner.tasks["stuck"].cancelled()


@pytest.mark.postgres
async def test_one_process_at_a_time_runs_a_job_the_other_skips(clean_db: str) -> None:
    """Two processes' runners (two engines): the second skips while the first runs."""
    release, running = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    def blocking(process: str) -> Callable[[JobContext], Awaitable[Report]]:
        async def run_once(_context: JobContext) -> Report:
            running.set()
            ran.append(process)
            await release.wait()
            return Report(process)

        return run_once

    engines = [create_engine(clean_db, poolclass=NullPool) for _ in range(2)]
    settings = make_settings(clean_db)
    one, two = (
        JobRunner(
            [job("shared", blocking(name))],
            JobContext(make_sessionmaker(engine), SystemClock(), settings),
        )
        for name, engine in zip(("one", "two"), engines, strict=True)
    )
    try:
        first = asyncio.create_task(one.run(one.jobs[0]))
        await asyncio.wait_for(running.wait(), 5)
        skipped = await two.run(two.jobs[0])
        assert not skipped.ran and skipped.report is None
        assert two.stats["shared"].skipped == 1 and two.stats["shared"].last_success is None
        release.set()
        assert (await first).ran
        # The lock went with the first run's transaction: the second process runs the next tick.
        again = await two.run(two.jobs[0])
        assert again.ran and again.report == Report("two")
    finally:
        release.set()
        for engine in engines:
            await engine.dispose()
    assert ran == ["one", "two"]


# ---- madoguchi jobs --------------------------------------------------------------------------


async def madoguchi(database_url: str, *args: str) -> tuple[int, str, str]:
    """The command in its own process, while a server (in this event loop) may keep running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_jobs_run_once_returns_stale_leases_and_jobs_list_names_every_job(
    clean_db: str,
) -> None:
    office = Office(await seed(clean_db))
    settings = make_settings(clean_db, queue=QueueSettings(lease_s=1, expire_every_s=0))
    async with run_server(settings) as server:
        await receive(server, office, move_in())
        async with server.client(office.token("operator")) as operator:
            assert await claim(operator) is not None
        await asyncio.sleep(1.3)
        code, out, err = await madoguchi(clean_db, "jobs", "run", "expire-leases", "--once")
        assert code == 0, err
        assert "returned 1 task(s) whose lease ran out" in out
        step = await entry_step(server, office)
        assert (step["open"], step["leased"]) == (1, 0)
        code, out, err = await madoguchi(clean_db, "jobs", "run", "expire-leases", "--once")
        assert code == 0 and "returned 0 task(s)" in out
    code, out, err = await madoguchi(clean_db, "jobs", "run", "no-such-job", "--once")
    assert code == 2 and "(no such job): no-such-job" in err and "expire-leases" in err
    code, out, _ = await madoguchi(clean_db, "jobs", "list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [j.name for j in JOBS]
    assert "every 30 s" in out.splitlines()[0]


@pytest.mark.postgres
async def test_jobs_run_once_skips_while_another_process_runs_the_job(clean_db: str) -> None:
    engine = create_engine(clean_db, poolclass=NullPool)
    try:
        async with job_lock(make_sessionmaker(engine), "expire-leases") as mine:
            assert mine
            code, _out, err = await madoguchi(clean_db, "jobs", "run", "expire-leases", "--once")
            assert code == 1 and "skipped: another process is running it" in err
        code, out, err = await madoguchi(clean_db, "jobs", "run", "expire-leases", "--once")
        assert code == 0 and "returned 0 task(s)" in out, err
    finally:
        await engine.dispose()
