"""The schema is built by migrations only, and they go both ways."""

import asyncio
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.storage.migrations import alembic_config
from tests.support import database_url_from_env, is_postgres


def scratch_database(tmp_path: Path) -> tuple[str, str | None]:
    """A throwaway database of the kind under test: (url, database name to drop or None)."""
    base = database_url_from_env()
    if not is_postgres(base):
        return f"sqlite+aiosqlite:///{tmp_path}/scratch.db", None
    name = f"scratch_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        engine = create_async_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f"CREATE DATABASE {name}"))
        await engine.dispose()

    asyncio.run(create())
    return base.rsplit("/", 1)[0] + f"/{name}", name


def drop(name: str) -> None:
    async def run() -> None:
        engine = create_async_engine(
            database_url_from_env(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await engine.dispose()

    asyncio.run(run())


def test_upgrade_downgrade_upgrade_and_no_drift(tmp_path: Path) -> None:
    url, name = scratch_database(tmp_path)
    try:
        config = alembic_config(url)
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        command.check(config)  # raises when the models and the migrations differ
    finally:
        if name:
            drop(name)
