"""The `madoguchi` command: serve, migrate, seed-demo, token and administration commands."""

from app.cli import admin, audit, batches, operations, people  # noqa: F401 - they add the commands
from app.cli.base import cli


def main() -> None:
    cli()
