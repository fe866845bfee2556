"""The database's failures by meaning, for the HTTP edge's error table (app/api/errors.py)."""

from app.storage.errors import CONFLICT_ERRORS, UNAVAILABLE_ERRORS

__all__ = ["CONFLICT_ERRORS", "UNAVAILABLE_ERRORS"]
