"""Form templates as data, and what a page's readings become for the intake."""

import pytest

from app.domain.applications import risky_paths
from app.domain.catalogue import load_catalogue
from app.domain.ocr import Reading, load_templates, ocr_results, page_reference, parse_template


def test_move_in_template_fields_exist_in_the_procedure() -> None:
    template = load_templates()["resident.move_in.v1"]
    known = {
        path.replace("[]", "[0]") for path, _spec in load_catalogue().get(template.procedure).walk()
    }
    assert {f.path for f in template.fields} <= known
    scripts = {f.path: f.script for f in template.fields}
    assert scripts["new_postal_code"] == "digits" and scripts["members[0].kana"] == "kana"
    assert template.fields[0].whitelist is not None and "令" in template.fields[0].whitelist


def test_zone_outside_the_page_is_refused() -> None:
    data = {
        "code": "x",
        "procedure": "resident.move_in",
        "title_ja": "x",
        "page": {"width": 100, "height": 100, "dpi": 200},
        "marks": {"size": 0.03, "centres": [[0.1, 0.1]] * 4},
        "fields": [{"path": "move_date", "script": "date", "zone": [0.5, 0.5, 1.2, 0.6]}],
    }
    with pytest.raises(ValueError, match="inside the page"):
        parse_template(data)


def test_readings_are_kept_raw_and_low_confidence_is_keyed_twice() -> None:
    ocr = ocr_results(
        {
            "household_head_name": Reading(" 髙﨑 𠮷男 ", 0.97, "data:image/png;base64,AA=="),
            "new_address": Reading("熊本市中央区", 0.41),
            "new_postal_code": Reading("", 0.0),
        }
    )
    assert ocr["household_head_name"]["value"] == "髙﨑 𠮷男"  # never corrected
    assert ocr["new_postal_code"] == {"unreadable": True, "confidence": 0.0}
    values = {"household_head_name": "髙﨑 𠮷男", "new_address": "熊本市中央区"}
    risky = risky_paths(load_catalogue().get("resident.move_in"), values, ocr, set(), 0.9)
    assert risky == ["new_address"]
    assert page_reference("ab" * 32, 2) == f"scan:{'ab' * 16}:p2"


def test_child_allowance_template_fields_exist_in_its_procedure() -> None:
    template = load_templates()["child_allowance.claim.v1"]
    assert template.procedure == "child_allowance.claim"
    known = {
        path.replace("[]", "[0]") for path, _spec in load_catalogue().get(template.procedure).walk()
    }
    paths = {f.path for f in template.fields}
    assert paths <= known
    assert {"claimant_name", "children[0].name", "children[0].birth_date"} <= paths
    assert not any("my_number" in p for p in paths)  # never read into the intake's OCR


def test_fields_the_engine_is_sure_and_wrong_on_are_keyed_twice() -> None:
    """Kanji and kana (names, addresses) are always keyed twice; a date only when below the
    template's calibrated confidence, which is above the queue's threshold."""
    template = load_templates()["resident.move_in.v1"]
    readings = {
        "filer_name": Reading("山田太朗", 0.99),  # sure of itself, and wrong
        "members[0].kana": Reading("ヤマダタロウ", 0.98),
        "move_date": Reading("令和8年4月1日", 0.91),  # above 0.9, below the calibrated 0.92
        "filing_date": Reading("令和8年4月2日", 0.97),
        "filer_phone": Reading("096-328-2111", 0.95),
    }
    verify = template.to_verify(readings)
    assert verify == {"filer_name", "members[0].kana", "move_date"}
    ocr = ocr_results(readings, verify)
    assert ocr["filer_name"] == {"value": "山田太朗", "confidence": 0.99, "verify": True}
    values = {path: read.text for path, read in readings.items() if "[" not in path}
    risky = risky_paths(load_catalogue().get("resident.move_in"), values, ocr, set(), 0.9)
    assert set(risky) == {"filer_name", "move_date"}  # the member is not in these values


def test_verify_below_is_always_or_a_confidence() -> None:
    data = {
        "code": "x",
        "procedure": "resident.move_in",
        "title_ja": "x",
        "page": {"width": 100, "height": 100, "dpi": 200},
        "marks": {"size": 0.03, "centres": [[0.1, 0.1]] * 4},
        "verify_below": {"kanji": "sometimes"},
        "fields": [{"path": "move_date", "script": "date", "zone": [0.5, 0.5, 0.9, 0.6]}],
    }
    with pytest.raises(ValueError, match="always"):
        parse_template(data)
    data["verify_below"] = {"hiragana": 0.5}
    with pytest.raises(ValueError, match="unknown script"):
        parse_template(data)
