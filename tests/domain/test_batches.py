import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.batches import (
    CLOSED,
    TRANSITIONS,
    UNDER_LEASE,
    BatchAction,
    BatchState,
    ContractTerms,
    ExportTerms,
    allow_list_problems,
    allowed_actions,
    allowed_paths,
    carries_my_number,
    contract_problems,
    cp932_problems,
    effective_state,
    lease_refusal,
    merge_result,
    next_state,
    result_problems,
    vendor_item,
)
from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidTransition
from app.domain.fields import validate_fields
from app.services.vendor_contracts import DEMO_ALLOW_LIST, DEMO_PROCEDURES
from tests.factories import move_in, status_report

FORBIDDEN = [pair for pair in itertools.product(BatchState, BatchAction) if pair not in TRANSITIONS]
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
REARING = load_catalogue().get("child_rearing.status_report")
MOVE_IN = load_catalogue().get("resident.move_in")


def values_of(body: dict[str, Any]) -> dict[str, Any]:
    procedure = load_catalogue().get(body["procedure"])
    return validate_fields(procedure, body["fields"], date(2026, 11, 27))[0]


# ---- the state machine ----------------------------------------------------------------------


@pytest.mark.parametrize(("current", "action"), TRANSITIONS.keys())
def test_listed_transitions_are_applied(current: BatchState, action: BatchAction) -> None:
    assert next_state(current, action) is TRANSITIONS[(current, action)]


@pytest.mark.parametrize(("current", "action"), FORBIDDEN)
def test_every_other_pair_is_refused(current: BatchState, action: BatchAction) -> None:
    with pytest.raises(InvalidTransition):
        next_state(current, action)


def test_closed_batches_allow_nothing_and_lease_work_needs_a_lease() -> None:
    assert all(allowed_actions(state) == frozenset() for state in CLOSED)
    assert allowed_actions(BatchState.READY) == {BatchAction.LEASE, BatchAction.RECALL}
    assert allowed_actions(BatchState.LEASED) >= UNDER_LEASE
    assert not UNDER_LEASE & allowed_actions(BatchState.READY)


@pytest.mark.parametrize(
    ("state", "expires", "effective"),
    [
        (BatchState.LEASED, NOW + timedelta(seconds=1), BatchState.LEASED),
        (BatchState.LEASED, NOW, BatchState.READY),
        (BatchState.LEASED, NOW - timedelta(hours=1), BatchState.READY),
        (BatchState.LEASED, None, BatchState.READY),
        (BatchState.READY, None, BatchState.READY),
        (BatchState.ACKNOWLEDGED, NOW - timedelta(hours=1), BatchState.ACKNOWLEDGED),
        (BatchState.RECALLED, NOW + timedelta(hours=1), BatchState.RECALLED),
    ],
)
def test_a_run_out_lease_makes_the_batch_ready_again(
    state: BatchState, expires: datetime | None, effective: BatchState
) -> None:
    assert effective_state(state, expires, NOW) is effective


@pytest.mark.parametrize(
    ("state", "token", "expires", "presented", "held"),
    [
        (BatchState.LEASED, "A", NOW + timedelta(minutes=5), "A", True),
        (BatchState.LEASED, "A", NOW + timedelta(minutes=5), "B", False),  # fenced: another lease
        (BatchState.LEASED, "A", NOW + timedelta(minutes=5), None, False),
        (BatchState.LEASED, "A", NOW + timedelta(minutes=5), "", False),
        (BatchState.LEASED, "A", NOW - timedelta(seconds=1), "A", False),  # ran out
        (BatchState.READY, None, None, "A", False),
        (BatchState.RECALLED, None, None, "A", False),
    ],
)
def test_only_the_current_lease_token_holds_the_lease(
    state: BatchState,
    token: str | None,
    expires: datetime | None,
    presented: str | None,
    held: bool,
) -> None:
    why = lease_refusal(
        state=state, lease_token=token, lease_expires_at=expires, presented=presented, now=NOW
    )
    assert (why is None) is held


# ---- what leaves --------------------------------------------------------------------------


def test_naming_a_group_allows_its_visible_fields_but_never_a_my_number() -> None:
    terms = ExportTerms(
        ("claimant_name", "children", "in_person_confirmed"), include_my_number=True
    )
    assert allowed_paths(REARING, terms) == {
        "claimant_name",
        "children[].name",
        "children[].kana",
        "children[].birth_date",
        "children[].relationship",
        "children[].living_together",
    }


def test_a_my_number_must_be_named_and_covered_by_the_contract() -> None:
    named = ("claimant_my_number", "children[].my_number")
    assert allowed_paths(REARING, ExportTerms(named, include_my_number=False)) == frozenset()
    assert allowed_paths(REARING, ExportTerms(named, include_my_number=True)) == set(named)


def test_allow_list_entries_are_checked_against_the_catalogue() -> None:
    problems = allow_list_problems(
        [REARING],
        [
            "claimant_name",
            "applicant.family_name",
            "nope",
            "claimant_my_number",
            "in_person_confirmed",
            "children[].name",
        ],
        False,
    )
    assert [(p["field"], p["code"]) for p in problems] == [
        ("field_allow_list[2]", "unknown_field"),
        ("field_allow_list[3]", "my_number_not_covered"),
        ("field_allow_list[4]", "city_only_field"),
    ]
    assert allow_list_problems([REARING], ["claimant_my_number"], True) == []


def test_a_contract_s_terms_are_checked_in_one_pass() -> None:
    # Creating and changing a contract share this check: every problem is named at once.
    terms = ContractTerms(
        procedures=["child_rearing.status_report", "no.such"],
        steps=["entry", "verify"],
        field_allow_list=["claimant_name", "claimant_my_number"],
        include_my_number=True,
        legal_basis=None,
        encodings=["utf-8", "x-sjis"],
    )
    problems = contract_problems(load_catalogue(), terms)
    assert [(p["field"], p["code"]) for p in problems] == [
        ("procedures[1]", "unknown_procedure"),
        ("steps[1]", "not_outsourceable"),
        ("encodings[1]", "unknown_encoding"),
        ("legal_basis", "required"),
    ]
    fine = ContractTerms(
        procedures=list(DEMO_PROCEDURES),
        steps=["entry"],
        field_allow_list=list(DEMO_ALLOW_LIST),
        encodings=["utf-8", "utf-8-sig", "cp932"],
    )
    assert contract_problems(load_catalogue(), fine) == []


def test_an_item_carries_only_allowed_fields_dates_as_written_and_allowed_ocr() -> None:
    terms = ExportTerms(
        ("applicant.family_name", "members[].name", "members[].birth_date", "new_address"), False
    )
    body = move_in()
    body["ocr"]["members[0].my_number"] = {"value": "621498320257", "confidence": 0.99}
    item = vendor_item(
        item_id="t1",
        procedure=MOVE_IN,
        terms=terms,
        values=values_of(body),
        applicant=body["applicant"],
        ocr=body["ocr"],
        due_on="2026-11-30",
    )
    assert item == {
        "item": "t1",
        "procedure": "resident.move_in",
        "due_on": "2026-11-30",
        "applicant": {"family_name": "髙橋"},
        "values": {
            "new_address": "熊本市中央区手取本町１－１",
            "members": [
                {"name": "髙橋 𠮷子", "birth_date": "昭和60年4月1日"},
                {"name": "髙橋 朗", "birth_date": "令和2年6月3日"},
            ],
        },
        "ocr": {
            "new_address": {
                "value": "熊本市中央区手取本町１－１",
                "confidence": 0.72,
                "image": "crop://1/new_address",
            }
        },
    }
    assert not carries_my_number(MOVE_IN, item)


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.sampled_from([p for p, _s in REARING.walk()] + ["applicant.family_name"])),
    st.booleans(),
)
def test_no_item_ever_holds_a_field_outside_the_allow_list(
    allow: set[str], include_my_number: bool
) -> None:
    terms = ExportTerms(tuple(sorted(allow)), include_my_number)
    allowed = allowed_paths(REARING, terms)
    item = vendor_item(
        item_id="t",
        procedure=REARING,
        terms=terms,
        values=values_of(status_report()),
        applicant={"family_name": "佐藤", "given_name": "花子"},
        ocr=None,
        due_on=None,
    )

    def leaves(node: Any, prefix: str) -> list[str]:
        found = []
        for key, value in node.items():
            if isinstance(value, list):
                found += [p for row in value for p in leaves(row, f"{prefix}{key}[].")]
            else:
                found.append(prefix + key)
        return found

    assert set(leaves(item["values"], "")) <= allowed
    assert set(item["applicant"]) <= {"family_name"} & {a.removeprefix("applicant.") for a in allow}
    assert carries_my_number(REARING, item) == (
        include_my_number and bool({"claimant_my_number", "children[].my_number"} & allow)
    )


# ---- CP932 pre-flight ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("𠮷田", ("U+20BB7", "unencodable")),
        ("令和㋿", ("U+32FF", "unencodable")),
        ("一〜三", ("U+301C", "not_round_trip")),
        ("外字\ue000", ("U+E000", "private_use")),
        ("髙橋 ① ㈱ ～ 﨑", None),
        ("plain ascii", None),
    ],
)
def test_cp932_preflight_lists_every_character_a_cp932_file_would_lose(
    text: str, problem: tuple[str, str] | None
) -> None:
    found = cp932_problems({"values": {"members": [{"name": text}]}, "ocr": {}})
    if problem is None:
        assert found == []
    else:
        assert found == [
            {
                "field": "values.members[0].name",
                "chars": [
                    {
                        "char": chr(int(problem[0][2:], 16)),
                        "codepoint": problem[0],
                        "reason": problem[1],
                    }
                ],
            }
        ]


# ---- results ------------------------------------------------------------------------------

ALLOWED = allowed_paths(REARING, ExportTerms(("claimant_name", "children"), False))


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"claimant_name": "佐藤 花子", "children": [{"name": "佐藤 陽"}]}, []),
        ({}, []),
        ("text", [("values", "invalid")]),
        ({"claimant_address": "x"}, [("values.claimant_address", "not_allowed")]),
        ({"claimant_my_number": "123456789018"}, [("values.claimant_my_number", "not_allowed")]),
        ({"nope": 1}, [("values.nope", "not_allowed")]),
        ({"children": [{"my_number": "1"}]}, [("values.children[0].my_number", "not_allowed")]),
        ({"children": "佐藤 陽"}, [("values.children", "invalid")]),
        ({"dependants": [{"name": "x"}]}, [("values.dependants", "not_allowed")]),
    ],
)
def test_results_may_only_carry_allowed_fields(
    values: Any, problems: list[tuple[str, str]]
) -> None:
    assert [(p["field"], p["code"]) for p in result_problems(REARING, ALLOWED, values)] == problems


def test_results_are_laid_over_the_form_and_rows_match_by_position() -> None:
    form = {
        "claimant_name": "佐藤 花了",
        "claimant_my_number": "123456789018",
        "children": [
            {"name": "佐藤 陽", "my_number": "987654321093"},
            {"name": "佐藤 月", "my_number": "1"},
        ],
    }
    merged = merge_result(
        REARING,
        form,
        {
            "claimant_name": "佐藤 花子",
            "children": [{"name": "佐藤 陽太"}],
            "claimant_kana": "サトウ ハナコ",
        },
    )
    assert merged == {
        "claimant_name": "佐藤 花子",
        "claimant_kana": "サトウ ハナコ",
        "claimant_my_number": "123456789018",
        "children": [
            {"name": "佐藤 陽太", "my_number": "987654321093"},
            {"name": "佐藤 月", "my_number": "1"},
        ],
    }
    grown = merge_result(REARING, form, {"children": [{}, {}, {"name": "佐藤 星"}]})
    assert (
        grown["children"][2] == {"name": "佐藤 星"}
        and grown["children"][0]["my_number"] == "987654321093"
    )
    assert form["children"][0]["name"] == "佐藤 陽"  # the form itself is untouched


def test_the_demo_contract_names_only_fields_of_its_procedures() -> None:
    catalogue = load_catalogue()
    procedures = [catalogue.get(code) for code in DEMO_PROCEDURES]
    assert allow_list_problems(procedures, DEMO_ALLOW_LIST, include_my_number=False) == []
    # Each procedure's batch carries the addresses the partner keys, not only names.
    carried = {
        code: allowed_paths(
            catalogue.get(code), ExportTerms(allow_list=DEMO_ALLOW_LIST, include_my_number=False)
        )
        for code in DEMO_PROCEDURES
    }
    assert "claimant_address" in carried["child_allowance.status_report"]
    assert "new_address" in carried["resident.move_within"]
