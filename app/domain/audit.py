"""Tamper-evident logs: the canonical form of an entry, its chained hash, and checking a chain.

Pure: no I/O. Each municipality's event log and access log is a chain ordered by ``chain_seq``
(1, 2, 3, …). An entry's hash is

    chain_hash(n) = hex(SHA-256(ascii(chain_hash(n-1)) || canonical_json(entry n)))

with ``chain_hash(0)`` = 64 zeros (GENESIS_HASH). ``canonical_json`` is one JSON object holding
``"log"`` (``"event"`` or ``"access"``) and the entry's columns listed in CHAINED_COLUMNS, keys
sorted at every level, no whitespace, non-ASCII written as itself, encoded as UTF-8; text is
never normalised; datetimes are UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. Anyone can recompute
a chain from a database dump with these rules and any SHA-256 tool.

Each row also carries a keyed MAC written with it by the service (``mac``, ``mac_key``):

    mac = hex(HMAC-SHA256(key[mac_key], mac_content(entry)))

where ``mac_content`` is the canonical JSON (same rules) of the columns in MAC_COLUMNS (the
chained ones except ``id`` and ``chain_seq``, which a writer does not know yet) plus ``"log"``
and ``"mac_key"``; JSON columns are taken as they read back from the database. The key lives in
the service's settings, never in the database: a row inserted with SQL by someone without the key
has no valid MAC, and the sealer refuses to chain it. The chain hash alone needs no key, so whoever
can write the tables could rewrite a row and recompute every hash after it; the MAC cannot be
recomputed that way. Recomputing a MAC needs the key; recomputing the chain does not.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class LogName(StrEnum):
    EVENT = "event"
    ACCESS = "access"


# Fixed per log: a column added to a table later must not change the hashes already sealed.
CHAINED_COLUMNS: dict[LogName, tuple[str, ...]] = {
    LogName.EVENT: (
        "id",
        "municipality_code",
        "chain_seq",
        "at",
        "actor_id",
        "actor_role",
        "entity",
        "entity_id",
        "action",
        "from_status",
        "to_status",
        "data",
    ),
    LogName.ACCESS: (
        "id",
        "municipality_code",
        "chain_seq",
        "at",
        "actor_id",
        "actor_role",
        "action",
        "entity",
        "entity_id",
        "my_number_shown",
        "detail",
    ),
}


# What a row's MAC covers: what its writer knows (no id, no place in the chain yet).
MAC_COLUMNS: dict[LogName, tuple[str, ...]] = {
    log: tuple(c for c in columns if c not in ("id", "chain_seq"))
    for log, columns in CHAINED_COLUMNS.items()
}
# Columns stored as JSON: covered as they read back (a tuple is a list, keys are strings).
JSON_COLUMNS = ("data", "detail")
# chain_hash of a row the sealer refused (its MAC is wrong or missing); its chain_seq stays NULL.
REJECTED = "rejected"

# The chained columns that hold datetimes (the others are text, numbers, booleans and JSON).
DATETIME_COLUMNS = ("at",)
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(log: LogName, row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers (module docstring)."""
    content = {name: row[name] for name in CHAINED_COLUMNS[log]}
    content["log"] = str(log)
    for name in DATETIME_COLUMNS:
        content[name] = _utc(content[name])
    text = _ENCODER.encode(content)
    # A lone surrogate cannot be stored by PostgreSQL but can by SQLite; it must not stop the chain.
    return text.encode("utf-8", "surrogatepass")


def mac_content(log: LogName, key_id: str, row: Mapping[str, Any]) -> bytes:
    """The bytes a row's MAC covers (module docstring)."""
    content = {name: row.get(name) for name in MAC_COLUMNS[log]}
    content["log"] = str(log)
    content["mac_key"] = key_id
    for name in DATETIME_COLUMNS:
        content[name] = _utc(content[name])
    for name in JSON_COLUMNS:
        if (value := content.get(name)) is not None and not _flat(value):
            content[name] = json.loads(json.dumps(value))
    return _ENCODER.encode(content).encode("utf-8", "surrogatepass")


_PLAIN = (str, int, type(None))


def _flat(value: object) -> bool:
    """A dict of text keys and text, whole-number or null values: what JSON gives back for it
    is equal to it, in the same order (the usual ``data``: no round trip needed)."""
    return type(value) is dict and all(
        type(key) is str and type(item) in _PLAIN for key, item in value.items()
    )


@dataclass(frozen=True)
class AuditKeys:
    """The MAC keys: ``current`` signs new rows; every key in ``secrets`` is accepted when checking
    (keys retired by a rotation stay here so that the rows they signed still verify)."""

    current: str
    secrets: Mapping[str, bytes] = field(repr=False)  # never in a log or a traceback

    def sign(self, log: LogName, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with its ``mac_key`` and ``mac`` set (the same dict, for inserting)."""
        key = self.secrets[self.current]
        row["mac_key"] = self.current
        row["mac"] = hmac.new(key, mac_content(log, self.current, row), hashlib.sha256).hexdigest()
        return row

    def check(self, log: LogName, row: Mapping[str, Any]) -> bool:
        """True when the row's MAC was made by one of these keys over the row as it is now."""
        key_id, mac = row.get("mac_key"), row.get("mac")
        key = self.secrets.get(key_id) if isinstance(key_id, str) else None
        if key is None or not isinstance(mac, str):
            return False
        expected = hmac.new(key, mac_content(log, key_id, row), hashlib.sha256).hexdigest()  # type: ignore[arg-type]
        return hmac.compare_digest(expected, mac)


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    """The chain hash of an entry whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


class BreakKind(StrEnum):
    CONTENT_CHANGED = "content_changed"
    HASH_MISMATCH = "hash_mismatch"
    MISSING_ENTRY = "missing_entry"
    DELETED_TAIL = "deleted_tail"
    HEAD_MISMATCH = "head_mismatch"
    HEAD_MISSING = "head_missing"
    BEYOND_HEAD = "beyond_head"
    MAC_MISMATCH = "mac_mismatch"


BREAK_TITLES: dict[BreakKind, tuple[str, str]] = {
    BreakKind.CONTENT_CHANGED: ("記録後に内容が変更されています", "content changed"),
    BreakKind.HASH_MISMATCH: ("ハッシュが一致しません", "hash mismatch"),
    BreakKind.MISSING_ENTRY: ("記録が欠けています", "missing entry"),
    BreakKind.DELETED_TAIL: ("末尾の記録が削除されています", "deleted tail"),
    BreakKind.HEAD_MISMATCH: ("チェーンの先頭が一致しません", "head mismatch"),
    BreakKind.HEAD_MISSING: ("チェーンの先頭がありません", "head missing"),
    BreakKind.BEYOND_HEAD: ("先頭より後に記録があります", "entries beyond the head"),
    BreakKind.MAC_MISMATCH: (
        "サービスの鍵による署名が一致しません",
        "MAC does not match the service's key",
    ),
}


@dataclass(frozen=True)
class ChainHead:
    last_seq: int
    last_hash: str
    # Entries up to this chain_seq were sealed before rows carried MACs (the migration's head).
    unkeyed_upto: int = 0


@dataclass(frozen=True)
class ChainBreak:
    """The first place a chain does not hold: which entry and what is wrong with it."""

    kind: BreakKind
    chain_seq: int
    row_id: int | None
    detail: str

    @property
    def title_ja(self) -> str:
        return BREAK_TITLES[self.kind][0]

    @property
    def title_en(self) -> str:
        return BREAK_TITLES[self.kind][1]


@dataclass(frozen=True)
class _Suspect:
    chain_seq: int
    row_id: int | None
    stored: str
    expected: str


class ChainWalker:
    """Checks one chain entry by entry in chain_seq order, holding only the last hash.

    When an entry's stored hash is not the one recomputed, the next entry (or the head) tells
    which of the two changed: if the chain continues from the stored hash, the entry's content
    was altered after sealing; if it continues from the recomputed one, the stored hash was.
    """

    def __init__(self, log: LogName, keys: AuditKeys | None = None, unkeyed_upto: int = 0) -> None:
        self.log = log
        # With keys, every entry must also carry a valid MAC, except those sealed before MACs
        # existed (chain_seq up to ``unkeyed_upto``, with no MAC at all); they are counted.
        self.keys = keys
        self.unkeyed_upto = unkeyed_upto
        self.unkeyed = 0
        self.entries = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None
        self._suspect: _Suspect | None = None

    def add(self, row: Mapping[str, Any]) -> bool:
        """Check the next entry; False once the chain is broken (later entries prove nothing)."""
        if self.broken is not None:
            return False
        seq, stored = int(row["chain_seq"]), row["chain_hash"]
        canonical = canonical_json(self.log, row)
        if self._suspect is not None:
            follows = seq == self._suspect.chain_seq + 1
            self._judge_suspect(
                continues_from_stored=follows
                and stored == entry_hash(self._suspect.stored, canonical),
                continues_from_expected=follows
                and stored == entry_hash(self._suspect.expected, canonical),
            )
            return False
        if seq != self.last_seq + 1:
            self.broken = ChainBreak(
                BreakKind.MISSING_ENTRY,
                self.last_seq + 1,
                row["id"],
                f"chain_seq {self.last_seq + 1}..{seq - 1} absent; the next entry present is "
                f"chain_seq {seq} (row id {row['id']})",
            )
            return False
        expected = entry_hash(self.last_hash, canonical)
        if stored != expected:
            self._suspect = _Suspect(seq, row["id"], stored, expected)
            return True
        if self.keys is not None and not self._keyed(seq, row):
            self.broken = ChainBreak(
                BreakKind.MAC_MISMATCH,
                seq,
                row["id"],
                "the entry's hash follows the chain but its MAC is not one the service's key "
                "makes: it was written or rewritten (with the chain recomputed) outside the "
                "service",
            )
            return False
        self.entries += 1
        self.last_seq, self.last_hash = seq, expected
        return True

    def _keyed(self, seq: int, row: Mapping[str, Any]) -> bool:
        assert self.keys is not None
        if row.get("mac") is None and row.get("mac_key") is None and seq <= self.unkeyed_upto:
            self.unkeyed += 1
            return True
        return self.keys.check(self.log, row)

    def finish(self, head: ChainHead | None) -> ChainBreak | None:
        """Compare the end of the walk with the head row; the first break found, if any."""
        if self._suspect is not None:
            at_head = head is not None and head.last_seq == self._suspect.chain_seq
            self._judge_suspect(
                continues_from_stored=at_head
                and head is not None
                and head.last_hash == self._suspect.stored,
                continues_from_expected=at_head
                and head is not None
                and head.last_hash == self._suspect.expected,
            )
        if self.broken is not None:
            return self.broken
        if head is None:
            if self.entries:
                self.broken = ChainBreak(
                    BreakKind.HEAD_MISSING,
                    self.last_seq,
                    None,
                    f"{self.entries} sealed entries but no audit_chain_head row",
                )
        elif head.last_seq > self.last_seq:
            self.broken = ChainBreak(
                BreakKind.DELETED_TAIL,
                self.last_seq + 1,
                None,
                f"the head is at chain_seq {head.last_seq} but the chain ends at {self.last_seq}: "
                f"entries {self.last_seq + 1}..{head.last_seq} are gone",
            )
        elif head.last_seq < self.last_seq:
            self.broken = ChainBreak(
                BreakKind.BEYOND_HEAD,
                head.last_seq + 1,
                None,
                f"the head is at chain_seq {head.last_seq} but entries go on to {self.last_seq}",
            )
        elif head.last_hash != self.last_hash:
            self.broken = ChainBreak(
                BreakKind.HEAD_MISMATCH,
                head.last_seq,
                None,
                f"the head's hash {head.last_hash} is not the chain's {self.last_hash}",
            )
        return self.broken

    def beyond_head(self, head: ChainHead, chain_seq: int, row_id: int | None) -> ChainBreak:
        """An entry carries a chain_seq the head never reached: it was not sealed here."""
        self.broken = ChainBreak(
            BreakKind.BEYOND_HEAD,
            chain_seq,
            row_id,
            f"the head is at chain_seq {head.last_seq}; "
            f"row id {row_id} claims chain_seq {chain_seq}",
        )
        return self.broken

    def _judge_suspect(self, *, continues_from_stored: bool, continues_from_expected: bool) -> None:
        suspect = self._suspect
        assert suspect is not None
        if continues_from_stored:
            kind, detail = (
                BreakKind.CONTENT_CHANGED,
                (
                    "the entry's content no longer gives its stored hash, and the chain goes on "
                    "from that hash: its content was altered after sealing (or the entry before it "
                    "was rewritten together with its hash)"
                ),
            )
        elif continues_from_expected:
            kind, detail = (
                BreakKind.HASH_MISMATCH,
                (
                    f"the stored chain_hash {suspect.stored} was altered; "
                    f"the content gives {suspect.expected}"
                ),
            )
        else:
            kind, detail = (
                BreakKind.HASH_MISMATCH,
                (
                    f"the stored chain_hash {suspect.stored} does not follow from the previous "
                    f"entry (expected {suspect.expected}); the entry or its neighbours were "
                    "rewritten"
                ),
            )
        self.broken = ChainBreak(kind, suspect.chain_seq, suspect.row_id, detail)
        self._suspect = None
