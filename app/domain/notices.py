"""Near-turn notices: when a ticket's resident is told by e-mail, and in what words.

Two kinds, each sent at most once per ticket: ``near`` when at most N tickets are ahead or the
estimate is below M minutes (while waiting), ``called`` when the number is called. A ticket
called before its ``near`` notice went out gets only ``called``. The words come from the
ticket's language catalogue (clients/web/common/i18n) and carry only the number, the figures
and the counter: no name, no address.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.errors import InvalidInput

NEAR = "near"
CALLED = "called"
CALLED_STATUSES = frozenset({"called", "serving"})
# One @, no spaces or angle brackets, a dot in the domain: what a relay will accept, no more.
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class Rule:
    near_ahead: int
    near_minutes: int


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def check_email(value: str) -> str:
    address = value.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise InvalidInput.field(
            "email",
            "invalid_email",
            "メールアドレスの形式が正しくありません (not an e-mail address)",
        )
    return address


def due_kind(
    status: str, ahead: int, estimate_min: int, sent: frozenset[str], rule: Rule
) -> str | None:
    """The notice a ticket is owed now, if any."""
    if CALLED in sent:
        return None
    if status in CALLED_STATUSES:
        return CALLED
    near = ahead <= rule.near_ahead or estimate_min < rule.near_minutes
    return NEAR if status == "waiting" and NEAR not in sent and near else None


def backoff_s(failures: int, base_s: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: base, 2 x base, 4 x base..."""
    return float(base_s * 2 ** max(failures - 1, 0))


def message(
    catalogue: Mapping[str, str],
    kind: str,
    *,
    number: str,
    ahead: int = 0,
    minutes: int = 0,
    counter: str | None = None,
) -> Message:
    """The notice's subject and body in the catalogue's language."""
    values = {"number": number, "ahead": ahead, "minutes": minutes, "counter": counter or ""}
    if kind == CALLED and not counter:
        body_key = "notify.called.body_nocounter"
    else:
        body_key = f"notify.{kind}.body"
    return Message(
        subject=catalogue[f"notify.{kind}.subject"].format(**values),
        body=catalogue[body_key].format(**values) + "\n\n" + catalogue["notify.footer"],
    )
