"""What a display may send, read strictly, and how much of it.

A display sends almost nothing: ``{"type": "resume", "after_seq": N}`` when it sees a gap
(protocol pings and pongs are answered by the websocket layer and never reach this code).
Anything else closes the connection with a code the display can act on (README, Reliability):

* 1003 (unsupported data): a binary frame;
* 1008 (policy violation): a text message that is not a valid resume, or more messages than the
  connection's budget allows;
* 1009 (message too big): a frame over ``max_message_bytes``, refused by the server before it is
  read (``ws_max_size``); checked here again for servers that do not enforce it.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009

# A resume is about 40 bytes; a message this long is parsed at most this deep, far below
# Python's recursion limit, so no input can make the parser raise anything but ValueError.
MAX_PARSED_BYTES = 512
# after_seq is a PostgreSQL/SQLite BIGINT: 0 ≤ after_seq < 2^63.
MAX_SEQ = 2**63 - 1


class Refused(Exception):
    """The display broke the protocol: close with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class ResumeRequest:
    after_seq: int


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_display_message(message: Mapping[str, Any], max_message_bytes: int) -> ResumeRequest:
    """One ASGI ``websocket.receive`` event → a resume request, or Refused."""
    text = message.get("text")
    if text is None:
        if message.get("bytes") is not None:
            raise Refused(CLOSE_UNSUPPORTED_DATA, "text frames only")
        raise Refused(CLOSE_POLICY_VIOLATION, "invalid message")
    if len(text) > max_message_bytes:
        raise Refused(CLOSE_MESSAGE_TOO_BIG, "message too big")
    if len(text) > MAX_PARSED_BYTES:
        raise Refused(CLOSE_POLICY_VIOLATION, "invalid message: too long for a resume")
    try:
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise Refused(CLOSE_POLICY_VIOLATION, "invalid message: not JSON") from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "resume"
        or set(data) != {"type", "after_seq"}
    ):
        raise Refused(CLOSE_POLICY_VIOLATION, "invalid message: expected a resume")
    after_seq = data["after_seq"]
    # bool is an int in Python; 1.0 and "1" are not seqs either.
    if type(after_seq) is not int or not 0 <= after_seq <= MAX_SEQ:
        raise Refused(CLOSE_POLICY_VIOLATION, "invalid after_seq: an integer from 0 to 2^63-1")
    return ResumeRequest(after_seq)


class MessageBudget:
    """A token bucket: ``rate_per_s`` messages a second on average, ``burst`` at once."""

    __slots__ = ("_rate", "_burst", "_tokens", "_at")

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def server_options(max_message_bytes: int) -> dict[str, Any]:
    """uvicorn's websocket settings for the lobby (``madoguchi serve`` and the tests' server).

    The sansio protocol lets the hub write frames directly (direct.py); ``ws_max_size`` makes
    it refuse a bigger frame from its header, before reading it (1009); no compression (it
    doubles the CPU of every delivery and costs memory per connection)."""
    return {
        "ws": "websockets-sansio",
        "ws_max_size": max_message_bytes,
        "ws_per_message_deflate": False,
    }
