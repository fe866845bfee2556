"""Sealed batches as files: JSON Lines or CSV, in UTF-8, UTF-8 with BOM or CP932, with SHA-256.

The same frozen items always give the same bytes: each item's JSON line is stored at sealing,
the CSV columns are fixed at sealing, and nothing here depends on time, locale or dict order.
Encoding is strict: a character the file cannot carry is an error, never a ``?`` (§5.5).

CSV cells are spreadsheet-safe (OWASP "CSV injection"): a text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab, a carriage return, a line feed or ``'`` is written with one ``'``
in front, so a spreadsheet shows it as text instead of evaluating it; a reader gets the value
back by dropping one leading ``'``. JSON numbers are written as numbers (``-5``, ``-0.25``):
such a cell holds only a sign, digits, ``.`` and an exponent, which no spreadsheet evaluates,
so a negative amount stays a number. The header goes through the same rule. Batches sealed
before this rule carry no ``"csv_cells"`` in their manifest and are still written as sealed.
JSON Lines are never touched.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from app.domain.batches import ENCODINGS, FORMATS
from app.domain.catalogue import FieldSpec, Procedure

BOM = b"\xef\xbb\xbf"
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
# What the Content-Type says; Windows-31J is the IANA name of Microsoft's CP932.
CHARSETS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp932": "Windows-31J"}
CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp932": "cp932"}
META_COLUMNS = ("item", "procedure", "due_on")
# What a batch's manifest says about its CSV cells (absent: sealed before the rule, written raw).
CSV_CELLS = "neutralised"
# The first characters a spreadsheet may evaluate, and the quote the rule itself adds.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "'")
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

__all__ = [
    "CHARSETS",
    "CSV_CELLS",
    "FORMULA_TRIGGERS",
    "ENCODINGS",
    "FORMATS",
    "MEDIA_TYPES",
    "ManifestBuilder",
    "Writer",
    "csv_columns",
    "encode",
    "flatten",
    "item_line",
    "preamble",
    "neutralise",
    "render",
]


def item_line(item: Mapping[str, Any]) -> str:
    """An item's JSON line as it is frozen (UTF-8 text, keys in the order they were built)."""
    return orjson.dumps(item).decode()


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will show as text: one ``'`` before a formula trigger."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


class _Number(str):
    """A cell that came from a JSON number: a spreadsheet reads it as a number, never a formula."""

    __slots__ = ()


def _safe(cell: str) -> str:
    return cell if type(cell) is _Number else neutralise(cell)


def _cell(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _Number(value)
    return orjson.dumps(value).decode()


def flatten(item: Mapping[str, Any]) -> dict[str, str]:
    """One CSV row: ``item``, ``procedure``, ``due_on``, ``applicant.x`` and value paths such
    as ``children[0].name`` or ``bank_account.bank_code``."""
    row = {key: _cell(item.get(key)) for key in META_COLUMNS}
    for key, value in (item.get("applicant") or {}).items():
        row[f"applicant.{key}"] = _cell(value)

    def walk(node: Any, path: str) -> None:
        if type(node) is dict:
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif type(node) is list:
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")
        else:
            row[path] = _cell(node)

    walk(item.get("values") or {}, "")
    return row


def csv_columns(
    procedure: Procedure, applicant_keys: Sequence[str], seen: Iterable[str]
) -> list[str]:
    """The header of a batch: fixed columns, then the applicant's, then values in form order."""
    applicant = [f"applicant.{k}" for k in applicant_keys]
    fixed = set(META_COLUMNS) | set(applicant)

    def position(path: str) -> tuple[tuple[int, int, str], ...]:
        specs: tuple[FieldSpec, ...] | None = procedure.fields
        key: list[tuple[int, int, str]] = []
        for name, index in _TOKEN.findall(path):
            if index:
                key.append((0, int(index), ""))
                continue
            found = next((i for i, s in enumerate(specs or ()) if s.key == name), None)
            if found is None:
                key.append((1, 0, name))
                specs = None
            else:
                key.append((0, found, ""))
                specs = (specs or ())[found].fields
        return tuple(key)

    values = sorted({c for c in seen if c not in fixed}, key=lambda c: (position(c), c))
    return [*META_COLUMNS, *applicant, *values]


def render(fmt: str, columns: Sequence[str], payloads: Sequence[str], *, safe: bool = True) -> str:
    """The text of a run of items; CSV rows end in CRLF (RFC 4180, what Excel writes).

    ``safe=False`` only for batches sealed before the spreadsheet-safe rule (module docstring).
    """
    if fmt == "jsonl":
        return "".join(f"{p}\n" for p in payloads)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for payload in payloads:
        row = flatten(orjson.loads(payload))
        cells = [row.get(c, "") for c in columns]
        writer.writerow([_safe(c) for c in cells] if safe else cells)
    return buffer.getvalue()


def encode(text: str, encoding: str) -> bytes:
    """Strict: raises UnicodeEncodeError rather than substitute a character."""
    return text.encode(CODECS[encoding], errors="strict")


def preamble(fmt: str, encoding: str, columns: Sequence[str], *, safe: bool = True) -> bytes:
    """What precedes the first item: the BOM once (never per chunk), and the CSV header."""
    head = BOM if encoding == "utf-8-sig" else b""
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(
            [neutralise(c) for c in columns] if safe else columns
        )
        head += encode(buffer.getvalue(), encoding)
    return head


class Writer:
    """The bytes of one format and encoding, chunk by chunk."""

    def __init__(
        self, fmt: str, encoding: str, columns: Sequence[str], *, safe: bool = True
    ) -> None:
        if fmt not in FORMATS or encoding not in ENCODINGS:
            raise ValueError(f"unknown format {fmt}/{encoding}")
        self.fmt, self.encoding, self.columns, self.safe = fmt, encoding, list(columns), safe

    def start(self) -> bytes:
        return preamble(self.fmt, self.encoding, self.columns, safe=self.safe)

    def chunk(self, payloads: Sequence[str]) -> bytes:
        return encode(render(self.fmt, self.columns, payloads, safe=self.safe), self.encoding)


class ManifestBuilder:
    """SHA-256 and size of every format × encoding, fed chunk by chunk in one pass."""

    def __init__(self, encodings: Sequence[str], columns: Sequence[str]) -> None:
        self.encodings = [e for e in ENCODINGS if e in encodings]
        self.columns = list(columns)
        self._digests = {(f, e): hashlib.sha256() for f in FORMATS for e in self.encodings}
        self._sizes = dict.fromkeys(self._digests, 0)
        for fmt, encoding in self._digests:
            self._feed(fmt, encoding, preamble(fmt, encoding, self.columns))

    def _feed(self, fmt: str, encoding: str, data: bytes) -> None:
        self._digests[(fmt, encoding)].update(data)
        self._sizes[(fmt, encoding)] += len(data)

    def add(self, payloads: Sequence[str]) -> None:
        for fmt in FORMATS:
            text = render(fmt, self.columns, payloads)
            for encoding in self.encodings:
                self._feed(fmt, encoding, encode(text, encoding))

    def manifest(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{format: {encoding: {"sha256": hex, "bytes": n}}, "csv_cells": "neutralised"}``"""
        files: dict[str, Any] = {
            fmt: {
                e: {"sha256": self._digests[(fmt, e)].hexdigest(), "bytes": self._sizes[(fmt, e)]}
                for e in self.encodings
            }
            for fmt in FORMATS
        }
        return {**files, "csv_cells": CSV_CELLS}
