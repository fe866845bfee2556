"""The visibility policy, rule by rule (app/domain/visibility.py)."""

import pytest

from app.domain.applications import TaskKind
from app.domain.batches import ExportTerms
from app.domain.catalogue import load_catalogue
from app.domain.roles import Employer, Principal, Role
from app.domain.visibility import (
    ContractScope,
    Lens,
    Purpose,
    Viewer,
    application_refusal,
    city_only_fields,
    is_protected,
    is_vendor_side,
    keyed_refusals,
    may_reveal,
    merge_keyed,
    settle_purpose,
    task_refusal,
)
from tests.factories import my_number

PROCEDURE = load_catalogue().get("child_allowance.status_report")
NUMBER = my_number("12345678901")
VALUES = {
    "claimant_name": "佐藤 花子",
    "claimant_my_number": NUMBER,
    "filing_reason": "other",
    "spouse_name": "佐藤 一郎",
    "children": [{"name": "佐藤 陽", "my_number": my_number("98765432109")}],
}
ALLOW = ("claimant_name", "children", "applicant.family_name")


def principal(role: Role, employer: Employer | None) -> Principal:
    return Principal(
        token_id="t", municipality_code="431001", role=role, name="x", employer=employer
    )


def vendor(*, my_numbers: bool = False, contract: bool = True) -> Viewer:
    allow = (*ALLOW, "claimant_my_number") if my_numbers else ALLOW
    scope = ContractScope(
        frozenset({PROCEDURE.code}), frozenset({"entry"}), ExportTerms(allow, my_numbers)
    )
    return Viewer.of(principal(Role.OPERATOR, Employer.VENDOR), scope if contract else None)


CITY = Viewer.of(principal(Role.OPERATOR, Employer.CITY))


def test_vendor_side_means_the_employer_or_a_vendor_role() -> None:
    assert is_vendor_side(principal(Role.OPERATOR, Employer.VENDOR))
    assert is_vendor_side(principal(Role.VENDOR, None))
    assert not is_vendor_side(principal(Role.OPERATOR, Employer.CITY))
    manager = Principal(
        token_id="t",
        municipality_code="431001",
        role="vendor_manager",  # type: ignore[arg-type]
        name="x",
        employer=Employer.VENDOR,
    )
    assert is_vendor_side(manager)


def test_city_staff_see_every_field_with_my_numbers_masked_unless_the_step_needs_them() -> None:
    lens = Lens(CITY, PROCEDURE)
    seen = lens.values(VALUES)
    assert seen["claimant_my_number"] == "********" + NUMBER[-4:]
    assert seen["spouse_name"] == "佐藤 一郎" and seen["filing_reason"] == "other"
    assert not lens.shown.my_number_shown
    revealed = Lens(CITY, PROCEDURE, Purpose.REVEAL)
    assert (
        revealed.values(VALUES)["claimant_my_number"] == NUMBER and revealed.shown.my_number_shown
    )


@pytest.mark.parametrize("my_numbers", [False, True])
def test_vendors_see_the_allow_list_and_never_a_full_my_number(my_numbers: bool) -> None:
    lens = Lens(vendor(my_numbers=my_numbers), PROCEDURE, Purpose.SETTLE_MY_NUMBER)
    seen = lens.values(VALUES)
    assert seen["claimant_name"] == "佐藤 花子"
    assert "spouse_name" not in seen and "filing_reason" not in seen
    assert seen["children"] == [{"name": "佐藤 陽"}]  # a group's My Number must be named
    assert seen.get("claimant_my_number") == ("********" + NUMBER[-4:] if my_numbers else None)
    assert not lens.shown.my_number_shown
    assert Lens(vendor(my_numbers=my_numbers), PROCEDURE).applicant(
        {"family_name": "佐藤", "phone": "096"}
    ) == {"family_name": "佐藤"}


def test_only_an_export_under_a_my_number_contract_carries_the_number() -> None:
    lens = Lens(vendor(my_numbers=True), PROCEDURE, Purpose.EXPORT)
    assert lens.values(VALUES)["claimant_my_number"] == NUMBER and lens.shown.my_number_shown


def test_who_sees_an_application_at_all() -> None:
    assert application_refusal(CITY, procedure=PROCEDURE.code, protected=True) is None
    assert application_refusal(vendor(), procedure=PROCEDURE.code, protected=False) is None
    assert application_refusal(vendor(), procedure=PROCEDURE.code, protected=True)
    assert application_refusal(vendor(), procedure="resident.move_in", protected=False)
    assert application_refusal(vendor(contract=False), procedure=PROCEDURE.code, protected=False)
    assert may_reveal(CITY) and not may_reveal(vendor(my_numbers=True))
    assert not may_reveal(Viewer.of(principal(Role.SUPERVISOR, Employer.CITY)))


def test_a_dv_evacuee_reason_protects_the_person() -> None:
    assert is_protected(PROCEDURE, {**VALUES, "filing_reason": "dv_evacuee"}, False)
    assert not is_protected(PROCEDURE, VALUES, False)
    assert is_protected(PROCEDURE, VALUES, True)


def test_settling_a_my_number_is_for_city_staff_in_full() -> None:
    assert settle_purpose(PROCEDURE, ["claimant_my_number"]) is Purpose.SETTLE_MY_NUMBER
    assert settle_purpose(PROCEDURE, ["claimant_birth_date"]) is Purpose.SCREEN
    assert city_only_fields(
        PROCEDURE, ["claimant_my_number", "claimant_birth_date", "filing_reason"]
    ) == ["claimant_my_number", "filing_reason"]


def test_vendors_take_only_tasks_whose_fields_they_may_see() -> None:
    def refusal(viewer: Viewer, keys: list[str]) -> str | None:
        return task_refusal(
            viewer, PROCEDURE, kind=TaskKind.SETTLE, field_keys=keys, protected=False
        )

    assert refusal(vendor(), ["claimant_name"]) is None
    assert refusal(vendor(), ["spouse_name"])
    assert refusal(vendor(contract=False), [])
    assert (
        task_refusal(
            CITY, PROCEDURE, field_keys=["spouse_name"], kind=TaskKind.SETTLE, protected=True
        )
        is None
    )


def test_vendor_keying_stays_inside_the_contract_and_keeps_what_they_never_saw() -> None:
    lens = Lens(vendor(), PROCEDURE)
    assert [
        p["field"] for p in keyed_refusals(lens, {"claimant_name": "x", "spouse_name": "y"})
    ] == ["values.spouse_name"]
    merged = merge_keyed(
        lens, VALUES, {"claimant_name": "佐藤 はな子", "children": [{"name": "佐藤 ひなた"}]}
    )
    assert merged["claimant_name"] == "佐藤 はな子" and merged["claimant_my_number"] == NUMBER
    assert merged["children"][0] == {
        "name": "佐藤 ひなた",
        "my_number": VALUES["children"][0]["my_number"],
    }
    assert merged["spouse_name"] == "佐藤 一郎" and merged["filing_reason"] == "other"
