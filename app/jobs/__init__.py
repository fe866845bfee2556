"""Every periodic task of the server is a job (app/jobs/core.py), listed here.

The app's lifespan starts them all with ``start_all``; `madoguchi jobs` lists them and runs one.
Realtime plumbing that every process needs for its own displays (the lobby hub, its LISTEN
connection, watchdog and display guard) stays in app/main.py.
"""

from app.jobs import (
    announcements,
    audit_sealing,
    leases,
    lobby_prune,
    notify,
    retention,
    scan_folder,
    vendor_sealing,
)
from app.jobs.core import Job, JobContext, JobRunner, Outcome, Report, run_job

JOBS: tuple[Job, ...] = (
    leases.JOB,
    vendor_sealing.JOB,
    audit_sealing.JOB,
    retention.JOB,
    lobby_prune.JOB,
    announcements.JOB,
    notify.JOB,
    scan_folder.JOB,
)

__all__ = [
    "JOBS",
    "Job",
    "JobContext",
    "JobRunner",
    "Outcome",
    "Report",
    "by_name",
    "run_job",
    "start_all",
]


def by_name(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)


def start_all(context: JobContext) -> JobRunner:
    """Start every job whose interval is above 0; ``await runner.stop()`` at shutdown."""
    runner = JobRunner(JOBS, context)
    runner.start()
    return runner
