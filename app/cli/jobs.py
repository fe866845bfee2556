"""`madoguchi jobs`: list the server's background jobs, run one now."""

import asyncio
from typing import Annotated

import typer

from app.domain.clock import SystemClock
from app.jobs import JOBS, JobContext, Outcome, by_name, run_job
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker

jobs_cli = typer.Typer(no_args_is_help=True, help="Background jobs: list them, run one now")


def _interval(seconds: float) -> str:
    return f"every {seconds:g} s" if seconds > 0 else "off in the server"


@jobs_cli.command("list")
def list_jobs() -> None:
    """Each job: its name, how often the server runs it (settings), what it does, its setting."""
    settings = Settings()
    width = max(len(job.name) for job in JOBS)
    for job in JOBS:
        typer.echo(
            f"{job.name:{width}}  {_interval(job.interval_s(settings)):18}  "
            f"{job.description}  [{job.setting}]"
        )


@jobs_cli.command("run")
def run(
    name: Annotated[str, typer.Argument(help="A name from `madoguchi jobs list`")],
    once: Annotated[bool, typer.Option("--once", help="Run it once now, then exit")] = False,
) -> None:
    """Run one job once now, as the server would (also when the server has it off); print what it
    did. On PostgreSQL, if another process is running the job, this run is skipped (exit 1)."""
    job = by_name(name)
    if job is None:
        names = ", ".join(j.name for j in JOBS)
        typer.echo(f"error: そのジョブはありません (no such job): {name}; jobs: {names}", err=True)
        raise typer.Exit(2)
    if not once:
        typer.echo(
            "error: --once を指定してください (give --once: the server runs jobs on their "
            "schedule, this command runs one now)",
            err=True,
        )
        raise typer.Exit(2)
    settings = Settings()

    async def main() -> Outcome:
        engine = create_engine(settings.database_url)
        try:
            context = JobContext(make_sessionmaker(engine), SystemClock(), settings)
            return await run_job(job, context)
        finally:
            await engine.dispose()

    outcome = asyncio.run(main())
    if outcome.report is None:
        typer.echo(
            f"{name}: 他のプロセスが実行中のため省略しました "
            f"(skipped: another process is running it)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{name}: {outcome.report.summary}")
