import json

import pytest
from pydantic import ValidationError

from app.domain.catalogue import (
    PROCEDURE_CODES,
    FieldSpec,
    Procedure,
    load_catalogue,
    parse_condition,
)
from app.domain.errors import NotFound

CONTRACT_CODES = (
    "resident.move_in",
    "resident.move_within",
    "resident.move_out",
    "resident.household_change",
    "child_allowance.claim",
    "child_allowance.revision",
    "child_allowance.termination",
    "child_allowance.change_notice",
    "child_allowance.status_report",
    "child_rearing.claim",
    "child_rearing.status_report",
    "child_rearing.partial_suspension_exemption",
    "child_allowance.account_change",
    "child_rearing.revision",
    "child_rearing.suspension_notice",
    "child_rearing.pension_status",
    "child_rearing.loss_notice",
)
ALL = [load_catalogue().get(code) for code in CONTRACT_CODES]


def test_the_contract_codes_in_order() -> None:
    catalogue = load_catalogue()
    assert catalogue.codes == CONTRACT_CODES == PROCEDURE_CODES
    assert [p.code for p in catalogue] == list(CONTRACT_CODES)
    assert load_catalogue() is catalogue  # read once


def test_unknown_code() -> None:
    assert load_catalogue().find("resident.birth") is None
    with pytest.raises(NotFound):
        load_catalogue().get("resident.birth")


@pytest.mark.parametrize("procedure", ALL, ids=lambda p: p.code)
def test_every_procedure_is_described(procedure: Procedure) -> None:
    assert procedure.name_ja and procedure.name_en and procedure.legal_basis
    assert procedure.field("filing_date") is not None  # the received date drives every clock
    paths = [path for path, _ in procedure.walk()]
    assert len(paths) == len(set(paths))


def test_move_in_is_a_realistic_form() -> None:
    move_in = load_catalogue().get("resident.move_in")
    assert len(move_in.fields) >= 20
    members = move_in.field("members")
    assert members is not None and members.type == "group" and members.min_items == 1
    keys = {spec.key for spec in members.fields}
    assert {"name", "kana", "birth_date", "sex", "relationship", "honseki"} <= keys


@pytest.mark.parametrize("procedure", ALL, ids=lambda p: p.code)
def test_risky_fields_are_always_double_keyed(procedure: Procedure) -> None:
    for path, spec in procedure.walk():
        if spec.type in ("my_number", "bank_account") or path.endswith("birth_date"):
            assert spec.risk == "high", path
        if spec.type == "my_number":
            # Only a contract covering 個人番号利用事務 may send My Numbers out (§7.11).
            assert not spec.vendor_visible, path


@pytest.mark.parametrize("procedure", ALL, ids=lambda p: p.code)
def test_public_dict_is_plain_json(procedure: Procedure) -> None:
    public = procedure.public_dict()
    assert json.loads(json.dumps(public, ensure_ascii=False)) == public
    assert public["code"] == procedure.code
    text = json.dumps(public)
    assert "[]" not in text and "null" not in text


def test_public_dict_shows_conditions_and_groups() -> None:
    public = load_catalogue().get("resident.move_in").public_dict()
    fields = {f["key"]: f for f in public["fields"]}  # type: ignore[union-attr,index]
    assert fields["filer_address"]["condition"] == "filer_relation == 'proxy'"
    assert fields["members"]["min_items"] == 1
    assert fields["transfer_method"]["choices"][0]["code"] == "certificate"
    assert "choices" not in fields["move_date"]


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        ("resident.move_in", ["cases", "earliest", "days_after", "days_after", "days_after"]),
        ("resident.move_within", ["days_after"]),
        ("resident.move_out", ["days_after"]),
        ("resident.household_change", ["days_after"]),
        ("child_allowance.claim", ["cases", "days_after", "days_after"]),
        ("child_allowance.status_report", ["annual_window"]),
        ("child_rearing.status_report", ["annual_window"]),
        ("child_rearing.claim", []),
        ("child_rearing.revision", ["cases", "promptly"]),  # only a decrease is 速やかに
        ("child_rearing.suspension_notice", ["promptly"]),
        ("child_rearing.pension_status", ["promptly"]),
        ("child_rearing.loss_notice", ["promptly"]),
        ("child_allowance.account_change", []),
    ],
)
def test_deadline_rules(code: str, kinds: list[str]) -> None:
    procedure = load_catalogue().get(code)
    if procedure.deadline is None:
        assert kinds == []
        return
    dumped = json.dumps(procedure.deadline.rule.model_dump())
    assert [k for k in kinds if f'"kind": "{k}"' not in dumped] == []
    assert dumped.count('"kind"') == len(kinds)


@pytest.mark.parametrize(
    ("text", "values", "holds"),
    [
        ("a == 'x'", {"a": "x"}, True),
        ("a == 'x'", {}, False),
        ("a != 'x'", {}, True),  # a missing value is None
        ("a in ('x', 'y')", {"a": "y"}, True),
        ("a", {"a": {"iso": "2024-04-01"}}, True),
        ("a", {"a": ""}, False),
        ("not a", {"a": False}, True),
        ("a == False", {"a": False}, True),
        ("a == False", {}, False),
        ("a and (b or not c)", {"a": 1, "c": True}, False),
        ("a and (b or not c)", {"a": 1, "b": 1, "c": True}, True),
        ("s not in ('永住者', 'x')", {"s": "永住者"}, False),
        ("s not in ('永住者', 'x')", {"s": "留学"}, True),
        ("s not in ('永住者', 'x')", {}, True),
    ],
)
def test_conditions(text: str, values: dict[str, object], holds: bool) -> None:
    assert parse_condition(text).evaluate(values) is holds


@pytest.mark.parametrize(
    "text", ["a == b", "a + 1", "__import__('os')", "a.b", "a <", "f(a)", "a < 1", "a == [1]"]
)
def test_unsupported_conditions_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        parse_condition(text)


def spec(**overrides: object) -> dict[str, object]:
    return {
        "key": "x",
        "label_ja": "x",
        "label_en": "x",
        "type": "text",
        "requirement": "required",
        **overrides,
    }


@pytest.mark.parametrize(
    "bad",
    [
        spec(type="my_number"),  # must be high risk
        spec(key="birth_date", type="wareki_date"),
        spec(type="bank_account"),
        spec(requirement="conditional"),  # without a condition
        spec(condition="y"),  # a condition on a required field
        spec(type="choice"),  # without choices
        spec(type="group"),  # without fields
        spec(allow_unknown=True),
        spec(colour="red"),  # unknown keys are typos
        spec(key="Bad Key"),
    ],
)
def test_field_specs_refuse_inconsistent_data(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FieldSpec.model_validate(bad)


@pytest.mark.parametrize(
    "fields",
    [
        [spec(), spec()],  # duplicate keys
        [spec(requirement="conditional", condition="nowhere")],
        [spec(requirement="conditional", condition="x +")],
        [spec(type="account_name_kana", same_person_as="nobody")],
    ],
)
def test_procedures_refuse_dangling_references(fields: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        Procedure.model_validate(
            {"code": "c", "name_ja": "c", "name_en": "c", "legal_basis": "c", "fields": fields}
        )


def test_deadline_bases_must_be_top_level_dates() -> None:
    with pytest.raises(ValidationError, match="deadline"):
        Procedure.model_validate(
            {
                "code": "c",
                "name_ja": "c",
                "name_en": "c",
                "legal_basis": "c",
                "fields": [spec()],
                "deadline": {
                    "rule": {"kind": "days_after", "base": "x", "days": 14},
                    "note_ja": "",
                    "note_en": "",
                    "basis": "",
                },
            }
        )
