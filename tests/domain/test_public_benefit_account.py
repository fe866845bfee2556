"""公金受取口座: a claimant may have the allowance paid to the registered public-benefit account."""

import copy
from datetime import date

import pytest

from app.domain.catalogue import load_catalogue
from app.domain.fields import validate_fields
from app.domain.validators import level
from tests.domain.test_fields import GOOD_CLAIM

CATALOGUE = load_catalogue()
ON = date(2024, 5, 10)
WITHOUT_BANK = {
    k: v for k, v in GOOD_CLAIM.items() if k not in ("bank_account", "account_name_kana")
}


def codes(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in problems]


@pytest.mark.parametrize("procedure", ["child_allowance.claim", "child_rearing.claim"])
def test_every_claim_with_a_payee_offers_the_public_benefit_account(procedure: str) -> None:
    spec = CATALOGUE.get(procedure).field("payee_account_kind")
    assert spec is not None and spec.type == "choice"
    assert [c.code for c in spec.choices] == ["bank", "public_benefit"]


def test_the_public_benefit_account_needs_no_bank_account_nor_holder() -> None:
    claim = CATALOGUE.get("child_allowance.claim")
    values, problems = validate_fields(
        claim, {**WITHOUT_BANK, "payee_account_kind": "public_benefit"}, ON
    )
    assert problems == []
    assert values["payee_account_kind"] == "public_benefit"


@pytest.mark.parametrize("kind", [None, "bank"])
def test_a_bank_payee_still_needs_the_account_and_its_holder(kind: str | None) -> None:
    claim = CATALOGUE.get("child_allowance.claim")
    form = dict(WITHOUT_BANK) if kind is None else {**WITHOUT_BANK, "payee_account_kind": kind}
    assert codes(validate_fields(claim, form, ON)[1]) == [
        ("bank_account", "required"),
        ("account_name_kana", "required"),
    ]
    assert validate_fields(claim, {**GOOD_CLAIM, "payee_account_kind": "bank"}, ON)[1] == []


def test_a_bank_account_written_next_to_the_public_benefit_account_is_an_error() -> None:
    claim = CATALOGUE.get("child_allowance.claim")
    form = {**copy.deepcopy(GOOD_CLAIM), "payee_account_kind": "public_benefit"}
    problems = validate_fields(claim, form, ON)[1]
    assert codes(problems) == [
        ("bank_account", "not_with_public_benefit_account"),
        ("account_name_kana", "not_with_public_benefit_account"),
    ]
    assert all(level(p["code"]) == "error" for p in problems)
    assert "公金受取口座" in problems[0]["message"] and "public-benefit" in problems[0]["message"]


def test_an_unknown_payee_kind_is_refused() -> None:
    claim = CATALOGUE.get("child_allowance.claim")
    problems = validate_fields(claim, {**GOOD_CLAIM, "payee_account_kind": "cash"}, ON)[1]
    assert codes(problems) == [("payee_account_kind", "not_a_choice")]
