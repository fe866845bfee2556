"""The `madoguchi` command's groups, and how a command runs one unit of work."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from app.domain.clock import SystemClock
from app.domain.errors import DomainError
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Madoguchi 窓口 service")
token_cli = typer.Typer(no_args_is_help=True, help="API tokens")
admin_cli = typer.Typer(no_args_is_help=True, help="Municipalities, offices, counters, categories")
cli.add_typer(token_cli, name="token")
cli.add_typer(admin_cli, name="admin")
batches_cli = typer.Typer(no_args_is_help=True, help="Vendor batches: seal, list, recall")
cli.add_typer(batches_cli, name="batches")
audit_cli = typer.Typer(no_args_is_help=True, help="Tamper-evident event and access logs")
cli.add_typer(audit_cli, name="audit")
staff_cli = typer.Typer(no_args_is_help=True, help="Staff people who sign in to the consoles")
cli.add_typer(staff_cli, name="staff")

T = TypeVar("T")


def run(work: Callable[[Any], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one unit of work against the configured database and commit it."""
    from app.services.uow import UnitOfWork

    settings = settings or Settings()

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                uow = UnitOfWork(session, clock=SystemClock(), settings=settings)
                result = await work(uow)
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        for item in getattr(error, "errors", []):
            typer.echo(f"  {item['field']}: {item['message']}", err=True)
        raise typer.Exit(2) from None


async def with_sessionmaker(work: Callable[[Any], Awaitable[T]]) -> T:
    engine = create_engine(Settings().database_url)
    try:
        return await work(make_sessionmaker(engine))
    finally:
        await engine.dispose()
