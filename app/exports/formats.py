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
import math
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
    "FileDigests",
    "ManifestBuilder",
    "Writer",
    "csv_columns",
    "csv_rows",
    "encode",
    "flatten",
    "flatten_line",
    "item_line",
    "manifest_of",
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


def _cell(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if type(value) is float and not math.isfinite(value):
            return ""  # what its frozen line holds: JSON has no NaN, orjson writes null
        return _Number(value)
    return orjson.dumps(value).decode()


def flatten(item: Mapping[str, Any]) -> dict[str, str]:
    """One CSV row: ``item``, ``procedure``, ``due_on``, ``applicant.x`` and value paths such
    as ``children[0].name`` or ``bank_account.bank_code``.

    Of an item of decoded JSON, the same row as of its frozen line (``flatten_line(
    item_line(item))``): sealing takes the row from the item it has just built."""
    row = {key: _cell(item.get(key)) for key in META_COLUMNS}
    for key, value in (item.get("applicant") or {}).items():
        row[f"applicant.{key}"] = _cell(value)
    values = item.get("values") or {}
    if type(values) is dict:
        _walk_dict(values, "", row)
    elif type(values) is list:
        _walk_list(values, "", row)
    else:
        row[""] = _cell(values)
    return row


def _walk_dict(node: dict[str, Any], path: str, row: dict[str, str]) -> None:
    for key, value in node.items():
        _put(value, f"{path}.{key}" if path else key, row)


def _walk_list(node: list[Any], path: str, row: dict[str, str]) -> None:
    for index, value in enumerate(node):
        _put(value, f"{path}[{index}]", row)


def _put(value: Any, inner: str, row: dict[str, str]) -> None:
    kind = type(value)
    if kind is str:
        row[inner] = value
    elif kind is dict:
        _walk_dict(value, inner, row)
    elif kind is list:
        _walk_list(value, inner, row)
    else:
        row[inner] = _cell(value)


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
    return csv_rows(columns, [flatten_line(p) for p in payloads], safe=safe)


def flatten_line(payload: str) -> dict[str, str]:
    """The CSV row of a frozen JSON line (what every CSV file is written from)."""
    return flatten(orjson.loads(payload))


def csv_rows(
    columns: Sequence[str], rows: Iterable[Mapping[str, str]], *, safe: bool = True
) -> str:
    """The CSV text of flattened items (``flatten``): the one place CSV cells are written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    triggers = FORMULA_TRIGGERS
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        if safe:  # neutralise(), inline: a million cells a batch
            cells = [
                "'" + c if type(c) is not _Number and c.startswith(triggers) else c for c in cells
            ]
        writer.writerow(cells)
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


class FileDigests:
    """SHA-256 and size of one format in each of the batch's encodings, fed text chunk by
    chunk (UTF-8 is encoded once for both UTF-8 files: they differ only by the BOM)."""

    def __init__(self, fmt: str, encodings: Sequence[str], columns: Sequence[str]) -> None:
        self.fmt = fmt
        self.encodings = [e for e in ENCODINGS if e in encodings]
        self._digests = {e: hashlib.sha256() for e in self.encodings}
        self._sizes = dict.fromkeys(self.encodings, 0)
        for encoding in self.encodings:
            self._feed(encoding, preamble(fmt, encoding, columns))

    def _feed(self, encoding: str, data: bytes) -> None:
        self._digests[encoding].update(data)
        self._sizes[encoding] += len(data)

    def add_text(self, text: str) -> None:
        encoded: dict[str, bytes] = {}
        for encoding in self.encodings:
            codec = CODECS[encoding]
            if codec not in encoded:
                encoded[codec] = encode(text, encoding)
            self._feed(encoding, encoded[codec])

    def files(self) -> dict[str, dict[str, Any]]:
        return {
            e: {"sha256": self._digests[e].hexdigest(), "bytes": self._sizes[e]}
            for e in self.encodings
        }


def manifest_of(jsonl: FileDigests, csv: FileDigests) -> dict[str, Any]:
    """``{format: {encoding: {"sha256": hex, "bytes": n}}, "csv_cells": "neutralised"}``"""
    return {"jsonl": jsonl.files(), "csv": csv.files(), "csv_cells": CSV_CELLS}


class ManifestBuilder:
    """SHA-256 and size of every format × encoding, fed chunk by chunk in one pass."""

    def __init__(self, encodings: Sequence[str], columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._jsonl = FileDigests("jsonl", encodings, self.columns)
        self._csv = FileDigests("csv", encodings, self.columns)

    def add(self, payloads: Sequence[str]) -> None:
        self._jsonl.add_text(render("jsonl", self.columns, payloads))
        self._csv.add_text(render("csv", self.columns, payloads))

    def manifest(self) -> dict[str, Any]:
        """``{format: {encoding: {"sha256": hex, "bytes": n}}, "csv_cells": "neutralised"}``"""
        return manifest_of(self._jsonl, self._csv)
