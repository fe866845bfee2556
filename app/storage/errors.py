"""The database's failures, by what they mean to a caller (the HTTP edge maps them to answers)."""

import asyncpg
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

# A unique or foreign key the request ran into: a concurrent request won.
CONFLICT_ERRORS: tuple[type[Exception], ...] = (IntegrityError,)
# The database cannot be reached: the statement failed, or the pool could not reconnect while
# PostgreSQL is down (the driver's own errors, which SQLAlchemy does not wrap then).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
