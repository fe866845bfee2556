"""What a job is, how one run is taken (one process at a time), and the runner of the server.

A job does its work in ``run_once`` and says what it did in one line. The server's runner
starts every job whose interval (from settings) is above 0, one asyncio task each; at shutdown
it lets a run in progress finish (``context.stop`` asks long runs to end between transactions)
and cancels what is still running after the grace period.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from app.domain.clock import Clock
from app.settings import Settings
from app.storage.db import Sessionmaker
from app.storage.jobs import job_lock

log = logging.getLogger(__name__)

# After a failure a job is retried sooner than this only if its interval is shorter.
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class JobContext:
    """What a run may use: the database, the clock, the settings, and the request to stop."""

    sessionmaker: Sessionmaker
    clock: Clock
    settings: Settings
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Report:
    """What one run did: a line for people, and how many things it changed."""

    summary: str
    changed: int = 0


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    # Seconds between runs in the server, from settings; 0: the server does not run it.
    interval_s: Callable[[Settings], float]
    # The variable that sets the interval (for `madoguchi jobs list` and the README).
    setting: str
    run_once: Callable[[JobContext], Awaitable[Report]]
    # Run when the server starts, or only after the first interval.
    run_at_start: bool = True
    # Log each run that changed something (off for jobs that change things every second).
    log_changes: bool = True


@dataclass(frozen=True)
class Outcome:
    job: str
    ran: bool  # False: another process holds the job's lock, so this one skipped the run
    report: Report | None = None


async def run_job(job: Job, context: JobContext) -> Outcome:
    """One run of ``job``, unless another process is running it (PostgreSQL advisory lock)."""
    async with job_lock(context.sessionmaker, job.name) as mine:
        if not mine:
            return Outcome(job.name, ran=False)
        return Outcome(job.name, ran=True, report=await job.run_once(context))


@dataclass
class JobStats:
    """This process's record of a job, for /metrics."""

    last_success: float | None = None  # Unix time of the last run that finished
    failures: int = 0
    skipped: int = 0


class JobRunner:
    """Runs jobs on their intervals in this process until ``stop``."""

    def __init__(self, jobs: Iterable[Job], context: JobContext, grace_s: float = 10.0) -> None:
        self.jobs = list(jobs)
        self.context = context
        self.grace_s = grace_s
        self.stats = {job.name: JobStats() for job in self.jobs}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        for job in self.jobs:
            interval = job.interval_s(self.context.settings)
            if interval > 0 and job.name not in self.tasks:
                self.tasks[job.name] = asyncio.create_task(self._loop(job, interval), name=job.name)

    async def stop(self) -> None:
        """Let runs in progress finish (up to ``grace_s``), then cancel what still runs."""
        self.context.stop.set()
        tasks = list(self.tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=self.grace_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, job: Job) -> Outcome:
        """One run, counted in the stats; a failure is counted and raised."""
        stats = self.stats[job.name]
        try:
            outcome = await run_job(job, self.context)
        except Exception:
            stats.failures += 1
            raise
        if outcome.ran:
            stats.last_success = time.time()
        else:
            stats.skipped += 1
        return outcome

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.context.stop.wait(), seconds)

    async def _loop(self, job: Job, interval: float) -> None:
        """Run, wait ``interval``, again. A failure is logged once with its traceback and
        retried with backoff (up to the interval or 30 s, whichever is longer); the recovery
        is logged too."""
        failures = 0
        if not job.run_at_start:
            await self._pause(interval)
        while not self.context.stop.is_set():
            try:
                outcome = await self.run(job)
            except Exception:
                failures += 1
                if failures == 1:
                    log.warning("job %s failed; retrying", job.name, exc_info=True)
            else:
                if failures:
                    log.info("job %s works again after %d failed attempts", job.name, failures)
                failures = 0
                report = outcome.report
                if report is not None and report.changed and job.log_changes:
                    log.info("job %s: %s", job.name, report.summary)
            delay = interval
            if failures:
                delay = min(interval * 2 ** min(failures, 16), max(interval, MAX_BACKOFF_S))
            await self._pause(delay)

    def add_metrics(self, registry: CollectorRegistry) -> None:
        """This process's figures of its jobs, for one /metrics scrape."""
        label = ("job",)
        success = Gauge(
            "madoguchi_job_last_success_timestamp_seconds",
            "When a run of the job last finished in this process (Unix time)",
            label,
            registry=registry,
        )
        failures = Counter(
            "madoguchi_job_failures",
            "Runs of the job that failed in this process",
            label,
            registry=registry,
        )
        skipped = Counter(
            "madoguchi_job_skipped",
            "Runs this process skipped because another process was running the job",
            label,
            registry=registry,
        )
        for job in self.jobs:
            if job.name not in self.tasks:
                continue
            stats = self.stats[job.name]
            if stats.last_success is not None:
                success.labels(job.name).set(stats.last_success)
            failures.labels(job.name).inc(stats.failures)
            skipped.labels(job.name).inc(stats.skipped)
