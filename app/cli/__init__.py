"""The `madoguchi` command: serve, migrate, seed-demo, token and administration commands."""

from app.cli import admin, audit, batches, operations, people, scan  # noqa: F401 - add commands
from app.cli.base import cli
from app.cli.jobs import jobs_cli
from app.cli.reports import access_report, stats
from app.cli.whatif import whatif

cli.add_typer(jobs_cli, name="jobs")
cli.command("access-report")(access_report)
cli.command("stats")(stats)
cli.command("whatif")(whatif)


def main() -> None:
    cli()
