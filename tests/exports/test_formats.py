"""The batch files byte for byte: JSON Lines and CSV in UTF-8, UTF-8 with BOM and CP932."""

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.catalogue import load_catalogue
from app.exports.formats import (
    BOM,
    ManifestBuilder,
    Writer,
    csv_columns,
    encode,
    flatten,
    flatten_line,
    item_line,
    render,
)

REARING = load_catalogue().get("child_rearing.status_report")
ITEMS: list[dict[str, Any]] = [
    {
        "item": "t1",
        "procedure": REARING.code,
        "due_on": "2026-08-31",
        "applicant": {"family_name": "髙橋"},
        "values": {
            "claimant_name": "髙橋 ①子",
            "children": [
                {"name": "髙橋 陽", "living_together": True},
                {"name": "髙橋, 月", "living_together": False},
            ],
        },
        "ocr": {"claimant_name": {"value": "髙橋 ①子", "confidence": 0.81}},
    },
    {
        "item": "t2",
        "procedure": REARING.code,
        "due_on": None,
        "applicant": {},
        "values": {
            "claimant_name": '佐藤 "花子"',
            "previous_year_income": 1800000,
            "children": [{"name": "佐藤 陽"}],
        },
        "ocr": {},
    },
]
PAYLOADS = [item_line(i) for i in ITEMS]
COLUMNS = csv_columns(REARING, ["family_name"], {c for i in ITEMS for c in flatten(i)})
EVERY = [(f, e) for f in ("jsonl", "csv") for e in ("utf-8", "utf-8-sig", "cp932")]


def whole(fmt: str, encoding: str, chunks: list[list[str]]) -> bytes:
    writer = Writer(fmt, encoding, COLUMNS)
    return writer.start() + b"".join(writer.chunk(c) for c in chunks)


def test_the_json_line_is_compact_utf8_in_the_order_it_was_built() -> None:
    assert PAYLOADS[1] == (
        '{"item":"t2","procedure":"child_rearing.status_report","due_on":null,"applicant":{},'
        '"values":{"claimant_name":"佐藤 \\"花子\\"","previous_year_income":1800000,'
        '"children":[{"name":"佐藤 陽"}]},"ocr":{}}'
    )


def test_csv_columns_follow_the_form_group_rows_then_their_fields() -> None:
    assert COLUMNS == [
        "item",
        "procedure",
        "due_on",
        "applicant.family_name",
        "claimant_name",
        "children[0].name",
        "children[0].living_together",
        "children[1].name",
        "children[1].living_together",
        "previous_year_income",
    ]
    # A key the catalogue does not know (a bank account's parts, say) goes after the known ones.
    assert csv_columns(REARING, [], {"zz", "claimant_name", "bank.code"})[3:] == [
        "claimant_name",
        "bank.code",
        "zz",
    ]


def test_csv_golden_text_crlf_quoting_and_booleans() -> None:
    assert render("csv", COLUMNS, PAYLOADS) == (
        't1,child_rearing.status_report,2026-08-31,髙橋,髙橋 ①子,髙橋 陽,true,"髙橋, 月",false,\r\n'
        't2,child_rearing.status_report,,,"佐藤 ""花子""",佐藤 陽,,,,1800000\r\n'
    )
    assert Writer("csv", "utf-8", COLUMNS).start() == (",".join(COLUMNS) + "\r\n").encode()


@pytest.mark.parametrize(("fmt", "encoding"), EVERY)
def test_each_file_decodes_to_the_same_text_and_only_utf8_sig_has_a_bom(
    fmt: str, encoding: str
) -> None:
    data = whole(fmt, encoding, [PAYLOADS[:1], PAYLOADS[1:]])
    assert data.startswith(BOM) is (encoding == "utf-8-sig")
    assert data.count(BOM) == (encoding == "utf-8-sig")
    text = data.decode({"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp932": "cp932"}[encoding])
    header = ",".join(COLUMNS) + "\r\n" if fmt == "csv" else ""
    assert text == header + render(fmt, COLUMNS, PAYLOADS)


def test_cp932_bytes_are_windows31j_and_nothing_is_substituted() -> None:
    data = whole("csv", "cp932", [PAYLOADS])
    # 髙 as the NEC-selected IBM extension (0xEEE0; Windows reads 0xFBFC as the same character),
    # ① NEC row 13.
    assert b"\xee\xe0\x8b\xb4 \x87\x40\x8eq" in data
    assert (
        b"\xee\xe0\x8b\xb4 \x87\x40\x8eq".decode("cp932")
        == b"\xfb\xfc\x8b\xb4 \x87\x40\x8eq".decode("cp932")
        == "髙橋 ①子"
    )
    with pytest.raises(UnicodeEncodeError):
        encode("𠮷田", "cp932")
    with pytest.raises(UnicodeEncodeError):
        Writer("jsonl", "cp932", COLUMNS).chunk([item_line({"values": {"name": "𠮷"}})])


def test_the_manifest_is_the_sha256_and_size_of_every_file() -> None:
    builder = ManifestBuilder(["cp932", "utf-8"], COLUMNS)
    builder.add(PAYLOADS)
    manifest = builder.manifest()
    assert list(manifest) == ["jsonl", "csv", "csv_cells"] and list(manifest["csv"]) == [
        "utf-8",
        "cp932",
    ]
    assert manifest["csv_cells"] == "neutralised"
    for fmt in ("jsonl", "csv"):
        for encoding in ("utf-8", "cp932"):
            data = whole(fmt, encoding, [PAYLOADS])
            assert manifest[fmt][encoding] == {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6),
    st.lists(
        st.text(alphabet=st.characters(codec="cp932", exclude_characters="¢£¬‖−〜"), max_size=12),
        min_size=1,
        max_size=12,
    ),
)
def test_how_the_items_are_chunked_never_changes_the_bytes(
    cuts: list[int], names: list[str]
) -> None:
    payloads = [
        item_line(
            {
                "item": f"t{i}",
                "procedure": REARING.code,
                "due_on": None,
                "applicant": {},
                "values": {"claimant_name": name},
                "ocr": {},
            }
        )
        for i, name in enumerate(names)
    ]
    chunks, rest = [], list(payloads)
    for cut in cuts * len(payloads):
        if not rest:
            break
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    builder = ManifestBuilder(["utf-8", "utf-8-sig", "cp932"], COLUMNS)
    for chunk in chunks:
        builder.add(chunk)
    for fmt in ("jsonl", "csv"):
        for encoding in ("utf-8", "utf-8-sig", "cp932"):
            writer = Writer(fmt, encoding, COLUMNS)
            data = writer.start() + writer.chunk(payloads)
            assert builder.manifest()[fmt][encoding]["sha256"] == hashlib.sha256(data).hexdigest()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()  # NaN and the infinities too: a frozen line holds null for them
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5),
    applicant=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=2),
    due_on=st.none() | st.text(max_size=10),
)
def test_the_row_of_an_item_is_the_row_of_its_frozen_line(
    values: dict[str, Any], applicant: dict[str, Any], due_on: str | None
) -> None:
    """Sealing takes each CSV row from the item it built; every download, from the line."""
    item = {
        "item": "t1",
        "procedure": REARING.code,
        "due_on": due_on,
        "applicant": applicant,
        "values": values,
        "ocr": {},
    }
    row, frozen = flatten(item), flatten_line(item_line(item))
    assert row == frozen
    # A cell from a JSON number is never neutralised: the kinds must agree too.
    assert {k: type(v) for k, v in row.items()} == {k: type(v) for k, v in frozen.items()}
