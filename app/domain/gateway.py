"""The city's LINE/SMS gateway webhook: who may be told, what is sent, how it is signed, and
what each answer means (README, Near-turn notifications).

A resident gives a Japanese mobile number (070/080/090 and 8 digits, with or without hyphens,
or +81 and the same without the leading 0), kept as E.164 (+8190...), or for LINE the opaque
identifier the city's gateway uses. The text is the e-mail's body without its footer; it may
be longer than one UCS-2 SMS (70 characters) and the gateway concatenates it: every language's
text fits in three concatenated segments (MAX_TEXT, 3 x 67).
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from app.domain.errors import InvalidInput

SMS = "sms"
LINE = "line"
CHANNELS = (SMS, LINE)
SIGNATURE_HEADER = "Madoguchi-Signature"
# One UCS-2 SMS holds 70 characters; concatenated, each segment holds 67.
SMS_SEGMENT = 70
SMS_CONCAT_SEGMENT = 67
MAX_TEXT = 3 * SMS_CONCAT_SEGMENT
LINE_ID_MAX = 128

_MOBILE = re.compile(r"^0?([789]0)-?(\d{4})-?(\d{4})$", re.ASCII)
_LINE_ID = re.compile(r"^[!-~]{1,128}$", re.ASCII)  # printable ASCII, no spaces (LINE_ID_MAX)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


def check_phone(value: str) -> str:
    """A Japanese mobile number as E.164 (+819012345678); 422 ``invalid_phone`` otherwise."""
    raw = value.strip().replace(" ", "")
    if raw.startswith("+81"):
        raw = raw[3:].lstrip("-")
        found = _MOBILE.match(raw) if not raw.startswith("0") else None
    else:
        found = _MOBILE.match(raw) if raw.startswith("0") else None
    if found is None or len(value) > 32:
        raise InvalidInput.field(
            "phone",
            "invalid_phone",
            "携帯電話番号 (070/080/090 で始まる11桁) を入力してください "
            "(a Japanese mobile number: 070/080/090 and 8 digits, or +81)",
        )
    return "+81" + "".join(found.groups())


def check_line_id(value: str) -> str:
    """The gateway's LINE identifier, kept as given (opaque): printable ASCII, bounded."""
    if not _LINE_ID.match(value):
        raise InvalidInput.field(
            "line",
            "invalid_line_id",
            f"LINE の ID が正しくありません (a LINE identifier: 1 to {LINE_ID_MAX} "
            "printable ASCII characters, no spaces)",
        )
    return value


def short_text(body: str) -> str:
    """The text for SMS/LINE: the e-mail's body without its footer (after the blank line)."""
    return body.split("\n\n", 1)[0]


def sms_segments(text: str) -> int:
    """UCS-2 SMS parts the text takes (1 up to 70 characters, then 67 per part)."""
    if len(text) <= SMS_SEGMENT:
        return 1
    return -(-len(text) // SMS_CONCAT_SEGMENT)


@dataclass(frozen=True)
class Payload:
    id: str  # the gateway's idempotency key: the same on every retry of this notice
    channel: str
    to: str
    language: str
    text: str
    ticket_number: str
    kind: str

    def body(self) -> bytes:
        return json.dumps(self.__dict__, ensure_ascii=False, separators=(",", ":")).encode()


def notice_id(ticket_id: str, kind: str) -> str:
    return f"{ticket_id}.{kind}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` (as Stripe signs webhooks)."""
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a gateway does with the header: same MAC, timestamp within the tolerance."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    expected = signature(secret, timestamp, body)
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(expected, header)


def outcome(status: int | None) -> Outcome:
    """2xx delivered; 408, 429, 5xx and no answer (None: timeout, network) retried; any other
    answer refused for good."""
    if status is None or status in (408, 429) or status >= 500:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    return Outcome.REFUSED
