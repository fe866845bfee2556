"""Logging that never carries personal data or secrets.

Access-log lines lose query values of ``token`` and ``key`` (display and resident links carry
capabilities), bearer tokens are cut, and any run of twelve digits (a My Number) is masked.
SQL parameters never reach a log: engines are created with ``hide_parameters``.
"""

import logging
import re
from typing import Any

SECRET_QUERY = re.compile(r"(?i)([?&](?:token|key|lease_token)=)[^&\s\"']+")
BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
TOKEN_LIKE = re.compile(r"mdg_[A-Za-z0-9_-]{20,}")
TWELVE_DIGITS = re.compile(r"(?<!\d)\d{4}[- ]?\d{4}[- ]?\d{4}(?!\d)")


def redact(text: str) -> str:
    text = SECRET_QUERY.sub(r"\1***", text)
    text = BEARER.sub(r"\1***", text)
    text = TOKEN_LIKE.sub("mdg_***", text)
    return TWELVE_DIGITS.sub("************", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's log configuration with the redacting filter on every handler."""
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "app.logs.RedactingFilter"}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": {**handler, "formatter": "plain"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "app": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }


def install_redaction() -> None:
    """Add the filter to the handlers already configured (tests, embedding)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "app"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
