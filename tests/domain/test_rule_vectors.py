"""Runs tests/domain/rule_vectors.json: each case states a rule's expected outcome by hand."""

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.domain import eligibility, payments
from app.domain.catalogue import load_catalogue
from app.domain.deadlines import Calendar, due_date
from app.domain.fields import validate_fields
from app.domain.household import household_key
from app.domain.prompts import (
    KnownClaim,
    Mover,
    change_notice_prompts,
    child_allowance_prompts,
    is_claimant,
)
from app.domain.validators import codes, kana
from app.domain.validators.relationship import normalise_relationship
from app.domain.validators.wareki import DateProblem, parse_wareki
from tests.factories import change_notification_fields

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "rule_vectors.json").read_text(encoding="utf-8")
)["cases"]
CATALOGUE = load_catalogue()
CALENDAR = Calendar()
FILED_ON = date(2026, 11, 20)  # the day the procedure_form / procedure_due forms are checked


def d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def iso(text: str | None) -> dict[str, str] | None:
    return {"iso": text, "written": text, "earliest": text, "latest": text} if text else None


CLAIM = {
    "filing_date": "R6.5.10",
    "claimant_name": "山田太郎",
    "claimant_kana": "ヤマダ タロウ",
    "claimant_birth_date": "S50.5.1",
    "claimant_sex": "男",
    "claimant_address": "熊本市中央区手取本町1-1",
    "claimant_phone": "096-000-0000",
    "claimant_my_number": "621498320257",
    "pension_type": "厚生年金等",
    "has_spouse": "有",
    "spouse_name": "山田花子",
    "spouse_my_number": "123456789018",
    "spouse_living_together": "はい",
    "claim_reason": "出生",
    "reason_date": "令和6年4月30日",
    "children": [
        {
            "name": "山田一郎",
            "kana": "ヤマダ イチロウ",
            "birth_date": "R6.4.30",
            "relationship": "子",
            "living_together": "はい",
        }
    ],
    "bank_account": {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "12345",
    },
    "account_name_kana": "ヤマダ タロウ",
}


def check(case: dict[str, Any]) -> None:  # noqa: C901 - one branch per kind, flat on purpose
    kind = case["kind"]
    if kind == "wareki":
        try:
            parsed = parse_wareki(case["text"])
        except DateProblem as exc:
            assert (None, exc.code) == (case["iso"], case["error"])
        else:
            assert (parsed.iso, None) == (d(case["iso"]), case["error"])
    elif kind == "prompt_due":
        values = {
            "move_date": iso(case["move_date"]),
            "transfer_method": case["transfer_method"],
            "planned_move_out_date": iso(case["planned_move_out_date"]),
            "members": [{"birth_date": iso("2015-07-07")}],
        }
        proposals = child_allowance_prompts(CATALOGUE.get("resident.move_in"), values, CALENDAR)
        assert [p["due_on"] for p in proposals] == [case["due_on"]]
    elif kind == "claim_due":
        values = {
            "claim_reason": case["claim_reason"],
            "reason_date": iso(case["reason_date"]),
            "planned_move_out_date": iso(case["planned_move_out_date"]),
        }
        procedure = CATALOGUE.get("child_allowance.claim")
        assert due_date(procedure, values, date(2024, 5, 1), CALENDAR) == d(case["due_on"])
    elif kind == "eligible_until":
        until = eligibility.fiscal_year_end_after_age(d(case["born"]), eligibility.ELIGIBLE_AGE)
        assert until == d(case["until"])
    elif kind == "eligible":
        assert eligibility.is_eligible_child(d(case["born"]), d(case["on"])) is case["eligible"]
    elif kind == "counts_for_rank":
        counts = eligibility.counts_for_rank(
            d(case["born"]), d(case["on"]), costs_confirmed=case["confirmed"]
        )
        assert counts is case["counts"]
    elif kind == "ranks":
        on = d(case["on"])
        children = [eligibility.Child(d(b), c) for b, c in case["children"]]
        ranks = eligibility.third_child_ranks(children, on)
        assert ranks == case["ranks"]
        amounts = [
            eligibility.monthly_amount(c.born, r, on) for c, r in zip(children, ranks, strict=True)
        ]
        assert amounts == case["amounts"]
    elif kind == "partial_stop_from":
        stop = eligibility.partial_stop_from(
            d(case["payment_start"]),
            d(case["cause"]),
            youngest_born=d(case["youngest_born"]),
            claimed_on=d(case["claimed_on"]),
        )
        assert stop == d(case["stop_from"])
    elif kind == "partial_stop_applies":
        applies = eligibility.partial_stop_applies(
            d(case["payment_start"]), d(case["cause"]), d(case["on"])
        )
        assert applies is case["applies"]
    elif kind == "residence_card":
        assert codes.normalise_residence_card_number(case["text"]) == case["number"]
    elif kind == "stay_period":
        assert codes.normalise_stay_period(case["text"]) == case["period"]
    elif kind == "address_code":
        assert codes.normalise_address_code(case["text"]) == case["code"]
    elif kind == "resident_code":
        assert codes.is_valid_resident_code(case["text"]) is case["valid"]
    elif kind == "my_number":
        form = copy.deepcopy(CLAIM)
        form[case["field"]] = case["text"]
        _, problems = validate_fields(
            CATALOGUE.get("child_allowance.claim"), form, date(2024, 5, 10)
        )
        assert [p["code"] for p in problems] == ([case["code"]] if case["code"] else [])
        if problems:
            assert problems[0]["field"] == case["field"]
    elif kind == "kana":
        furigana = kana.normalise_furigana(case["text"])
        assert furigana == case["kana"]
        assert (kana.furigana_offending_chars(furigana) == []) is case["ok"]
    elif kind == "kana_match":
        assert kana.normalise_furigana(case["a"]) == kana.normalise_furigana(case["b"])
        assert kana.to_zengin_kana(case["a"]) == kana.to_zengin_kana(case["b"])
    elif kind == "household":
        applicant_a = {"household_ref": case["a"].pop("household_ref", None)}
        applicant_b = {"household_ref": case["b"].pop("household_ref", None)}
        same = household_key(applicant_a, case["a"]) == household_key(applicant_b, case["b"])
        assert same is case["same"]
    elif kind == "relationship":
        checked = normalise_relationship(case["text"])
        if case["code"] is None:
            assert (checked.value, checked.code) == (case["value"], None)
        else:
            assert checked.code == case["code"]
    elif kind == "first_paid_month":
        first = payments.first_paid_month(d(case["claimed_on"]), d(case["event_on"]))
        assert first == month(case["month"])
    elif kind == "payment_schedule":
        schedule = payments.payment_schedule(
            month(case["first"]),
            lambda _: case["monthly"],
            last_month=month(case["last"]),
            calendar=CALENDAR,
            day=case["day"],
        )
        assert [
            [p.pay_on.isoformat(), [m.isoformat()[:7] for m in p.months], p.amount]
            for p in schedule
        ] == case["payments"]
    elif kind == "claim_schedule":
        values = {
            "claim_reason": case["claim_reason"],
            "reason_date": iso(case["reason_date"]),
            "children": [
                {"birth_date": iso(born), "older_child_confirmation": confirmed}
                for born, confirmed in case["children"]
            ],
        }
        schedule = payments.claim_schedule(
            values, d(case["claimed_on"]), calendar=CALENDAR, limit=case["limit"]
        )
        assert schedule is not None
        assert [[p["pay_on"], p["months"], p["amount"]] for p in schedule["payments"]] == case[
            "payments"
        ]
        if case["total"] is not None:
            assert schedule["payments_total"] == case["total"]
    elif kind == "claimant_match":
        mover = Mover("members[0]", *case["mover"])
        known = KnownClaim("claim", "child_allowance.claim", *case["claim"])
        assert is_claimant(mover, known) is case["same"]
    elif kind == "change_notice_due":
        values = {
            "move_date": iso(case["move_date"]),
            "members": [{"name": "髙橋 𠮷子", "birth_date": iso("1985-04-01")}],
        }
        known = KnownClaim("claim", case["claim_procedure"], "髙橋 𠮷子", "1985-04-01", None)
        proposals = change_notice_prompts(
            CATALOGUE.get("resident.move_within"), values, [known], CALENDAR
        )
        assert [p["due_on"] for p in proposals] == [case["due_on"]]
    elif kind in ("procedure_form", "procedure_due"):
        procedure = CATALOGUE.get(case["procedure"])
        form = change_notification_fields(case["procedure"])
        form.update(case["set"])
        for key in case.get("unset", []):
            form.pop(key, None)
        values, problems = validate_fields(procedure, form, FILED_ON)
        if kind == "procedure_form":
            assert [[p["field"], p["code"]] for p in problems] == case["problems"]
        else:
            assert problems == []
            received = d(case["received_on"])
            assert received is not None
            assert due_date(procedure, values, received, CALENDAR) == d(case["due_on"])
    else:
        raise AssertionError(f"unknown vector kind {kind}")


def test_enough_vectors_of_every_kind() -> None:
    kinds = {c["kind"] for c in CASES}
    assert len(CASES) >= 150
    assert {
        "wareki",
        "prompt_due",
        "eligible_until",
        "counts_for_rank",
        "partial_stop_from",
        "first_paid_month",
        "payment_schedule",
        "claim_schedule",
        "claimant_match",
        "change_notice_due",
        "procedure_form",
        "procedure_due",
        "address_code",
    } <= kinds
    assert {"residence_card", "resident_code", "my_number", "kana", "household"} <= kinds
    assert "stay_period" in kinds
    methods = {c["transfer_method"] for c in CASES if c["kind"] == "prompt_due"}
    assert methods == {"certificate", "card_special", "from_abroad"}


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['kind']}" for i, c in enumerate(CASES)])
def test_vector(case: dict[str, Any]) -> None:
    check(copy.deepcopy(case))
