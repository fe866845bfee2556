"""What the layers above hold an engine and a session factory as (they import no sqlalchemy)."""

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage.db import Sessionmaker

Engine = AsyncEngine
__all__ = ["Engine", "Sessionmaker", "sqlite_file"]


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return parsed.database


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain PostgreSQL DSN of a SQLAlchemy URL, for a LISTEN connection of asyncpg's own."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
