"""世帯主 (DOMAIN.md §7 rule 9; 標準仕様書 1.1.10/4.0.4): one head at most, none left behind
unnoticed."""

import copy
from datetime import date
from typing import Any

import pytest

from app.domain.catalogue import load_catalogue
from app.domain.fields import validate_fields
from app.domain.household import head_of_household_problems, resulting_household
from app.domain.validators import level
from tests.domain.test_fields import GOOD_MOVE_IN, MEMBER, TODAY

CATALOGUE = load_catalogue()
HOUSE = "熊本市中央区手取本町1番1号 手取ハイツ101"


def codes(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in problems]


def member(name: str, relationship: str) -> dict[str, Any]:
    return {**MEMBER, "name": name, "relationship": relationship}


def move_in(head: str, *members: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(GOOD_MOVE_IN), "household_head_name": head, "members": list(members)}


# (members with 続柄, household_head_name) → problems on a 転入/転居/世帯変更 form
JOINING = [
    ("one head, named", [("山田太郎", "世帯主"), ("山田花子", "妻")], "山田太郎", []),
    ("head written with a space", [("山田太郎", "世帯主")], "山田 太郎", []),
    ("joining another's household", [("山田花子", "妻"), ("山田一郎", "子")], "山田太郎", []),
    (
        "two marked heads",
        [("山田太郎", "世帯主"), ("山田花子", "世帯主")],
        "山田太郎",
        [("members[1].relationship", "two_household_heads")],
    ),
    (
        "marked head is not the named head",
        [("山田花子", "世帯主")],
        "山田太郎",
        [("household_head_name", "two_household_heads")],
    ),
    (
        "named head among members marked otherwise",
        [("山田太郎", "子"), ("山田花子", "妻")],
        "山田太郎",
        [("members[0].relationship", "household_head_mismatch")],
    ),
]


@pytest.mark.parametrize("procedure", ["resident.move_in", "resident.move_within"])
@pytest.mark.parametrize(
    ("case", "people", "head", "expected"), JOINING, ids=[c[0] for c in JOINING]
)
def test_a_household_formed_by_a_move_has_at_most_one_head(
    procedure: str,
    case: str,
    people: list[tuple[str, str]],
    head: str,
    expected: list[tuple[str, str]],
) -> None:
    values = {
        "new_address": "熊本市中央区手取本町1番1号",
        "new_katagaki": "手取ハイツ101",
        "household_head_name": head,
        "members": [{"name": n, "relationship": r} for n, r in people],
    }
    problems = head_of_household_problems(procedure, values)
    assert codes(problems) == expected
    assert all(HOUSE in p["message"] and level(p["code"]) == "error" for p in problems)


def test_the_full_form_check_names_the_household_and_blocks_approval() -> None:
    form = move_in("山田太郎", member("山田太郎", "世帯主"), member("山田花子", "世帯主"))
    problems = validate_fields(CATALOGUE.get("resident.move_in"), form, TODAY)[1]
    assert codes(problems) == [("members[1].relationship", "two_household_heads")]
    assert problems[0]["message"].startswith(f"世帯（{HOUSE}）に世帯主が2人います: 山田花子")
    assert "two heads of household" in problems[0]["message"]


def test_a_household_change_to_two_heads_is_refused() -> None:
    values = {
        "change_kind": "merger",
        "address": "熊本市東区月出3-1",
        "household_head_name": "佐藤花子",
        "previous_household_head_name": "佐藤一郎",
        "members": [
            {"name": "佐藤花子", "relationship": "世帯主"},
            {"name": "佐藤一郎", "relationship": "世帯主"},
        ],
    }
    assert codes(head_of_household_problems("resident.household_change", values)) == [
        ("members[1].relationship", "two_household_heads")
    ]


def test_a_foreign_head_may_be_named_by_the_alias() -> None:
    values = {
        "new_address": "熊本市",
        "household_head_name": "金田 民俊",
        "members": [{"name": "金 珉俊", "common_name": "金田 民俊", "relationship": "世帯主"}],
    }
    assert head_of_household_problems("resident.move_in", values) == []


# 転出: the head among the movers, and who stays as the form says (absent: not judged)
def move_out(
    movers: list[tuple[str, str]], staying: list[tuple[str, str]] | None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "current_address": "熊本市東区月出3-1",
        "members": [{"name": n, "relationship": r} for n, r in movers],
    }
    if staying is not None:
        values["remaining_members"] = [{"name": n, "relationship": r} for n, r in staying]
    return values


MOVE_OUT = [
    ("head leaves, nobody said to stay", [("佐藤一郎", "世帯主")], None, [], None),
    (
        "head stays",
        [("佐藤陽", "子")],
        [("佐藤一郎", "世帯主"), ("佐藤花子", "妻")],
        [],
        "佐藤一郎",
    ),
    (
        "head leaves, one stays",
        [("佐藤一郎", "世帯主")],
        [("佐藤花子", "妻")],
        [("remaining_members[0].name", "household_head_proposed")],
        "佐藤花子",
    ),
    (
        "head leaves, two stay",
        [("佐藤一郎", "世帯主")],
        [("佐藤花子", "妻"), ("佐藤陽", "子")],
        [("remaining_members", "household_without_head")],
        None,
    ),
    (
        "head leaves, two stay, new head named",
        [("佐藤一郎", "世帯主")],
        [("佐藤花子", "世帯主"), ("佐藤陽", "子")],
        [],
        "佐藤花子",
    ),
    (
        "two heads stay",
        [("佐藤陽", "子")],
        [("佐藤一郎", "世帯主"), ("佐藤花子", "世帯主")],
        [("remaining_members[1].relationship", "two_household_heads")],
        "佐藤一郎",
    ),
]


@pytest.mark.parametrize(
    ("case", "movers", "staying", "expected", "head"), MOVE_OUT, ids=[c[0] for c in MOVE_OUT]
)
def test_a_move_out_leaves_the_household_with_one_head(
    case: str,
    movers: list[tuple[str, str]],
    staying: list[tuple[str, str]] | None,
    expected: list[tuple[str, str]],
    head: str | None,
) -> None:
    values = move_out(movers, staying)
    assert codes(head_of_household_problems("resident.move_out", values)) == expected
    summary = resulting_household("resident.move_out", values)
    assert summary is not None and summary["household"] == "熊本市東区月出3-1"
    assert summary["head"] == head
    assert summary["remaining"] == (None if staying is None else [n for n, _ in staying])


def test_one_person_staying_is_proposed_as_head_in_a_warning() -> None:
    values = move_out([("佐藤一郎", "世帯主")], [("佐藤花子", "妻")])
    [proposal] = head_of_household_problems("resident.move_out", values)
    assert level(proposal["code"]) == "warning"
    assert "佐藤花子" in proposal["message"] and "熊本市東区月出3-1" in proposal["message"]


def test_two_staying_behind_a_leaving_head_block_until_a_change_of_head() -> None:
    form = {
        "filing_date": "令和6年4月10日",
        "filer_name": "佐藤一郎",
        "filer_relation": "self",
        "id_document": "drivers_license",
        "planned_move_date": "R6.4.20",
        "current_address": "熊本市東区月出3-1",
        "destination_address": "福岡市中央区天神1-1",
        "members": [
            {
                "name": "佐藤一郎",
                "kana": "サトウ イチロウ",
                "birth_date": "S50.5.1",
                "sex": "male",
                "relationship": "世帯主",
            }
        ],
        "remaining_members": [
            {"name": "佐藤花子", "relationship": "妻"},
            {"name": "佐藤陽", "relationship": "子"},
        ],
    }
    problems = validate_fields(CATALOGUE.get("resident.move_out"), form, date(2024, 4, 10))[1]
    assert codes(problems) == [("remaining_members", "household_without_head")]
    assert level(problems[0]["code"]) == "error"
    assert "世帯主変更届" in problems[0]["message"] and "2人" in problems[0]["message"]


def test_the_resulting_household_of_a_move_in() -> None:
    summary = resulting_household(
        "resident.move_in",
        move_in("山田太郎", member("山田太郎", "世帯主"), member("山田花子", "長女")),
    )
    assert summary == {
        "household": HOUSE,
        "members": ["山田太郎", "山田花子"],
        "head": "山田太郎",
        "head_among_members": True,
    }
    assert resulting_household("child_allowance.claim", {}) is None
