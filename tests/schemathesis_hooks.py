"""Schemathesis hooks for the fuzzing test: NDJSON request bodies and NDJSON answers.

Loaded by the schemathesis process through SCHEMATHESIS_HOOKS (tests/test_schemathesis.py).
"""

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson_body(_ctx: Any, value: Any) -> bytes:
    """One generated value is one line: the endpoints answer one result line per input line."""
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


@schemathesis.deserializer("application/x-ndjson")
def ndjson_answer(_ctx: Any, response: Any) -> Any:
    """The answer to a one-line upload is one line, checked against the documented line schema."""
    lines = [json.loads(line) for line in response.content.splitlines() if line.strip()]
    if not lines:
        # An empty upload is answered with no lines; schemathesis skips on NotImplementedError.
        raise NotImplementedError("no result lines to check")
    return lines[0] if len(lines) == 1 else lines
