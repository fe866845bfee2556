"""The lock that lets one process at a time run a background job (app/jobs/)."""

import contextlib
import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import text

from app.storage.db import Sessionmaker

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")


def lock_key(name: str) -> int:
    """The job's advisory lock key: a signed 64-bit number, the same in every process and release
    (PostgreSQL's hashtext is neither documented nor 64-bit)."""
    digest = hashlib.sha256(f"madoguchi.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def job_lock(sessionmaker: Sessionmaker, name: str) -> AsyncIterator[bool]:
    """Whether this process may run the job ``name`` now; the lock is held until the block ends.

    PostgreSQL: a transaction-level advisory lock, taken without waiting, in a transaction of
    its own that the block's end rolls back (which releases it, also when the connection dies).
    The job's work runs in its own transactions meanwhile. SQLite: always, and no transaction is
    opened (one writer at a time, and a transaction here would hold the write lock).
    """
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            yield True
            return
        try:
            yield bool(await session.scalar(_TRY_LOCK, {"key": lock_key(name)}))
        finally:
            await session.rollback()
