"""A 児童手当 claim paid to the 公金受取口座: keyed by the vendor, verified, approved, fed to the
core."""

import copy
from datetime import UTC, datetime
from typing import Any

from app.domain.applications import get_path
from tests.api.test_vendor import (
    download,
    items_of,
    lease,
    make_contract,
    push,
    receive,
    seal,
    vendor_token,
)
from tests.api.test_work_queue import claim, submit, token, warnings_of
from tests.factories import my_number
from tests.support import LiveServer, Office

PROCEDURE = "child_allowance.claim"
ALLOWED = [
    "claimant_name",
    "claimant_kana",
    "payee_account_kind",
    "bank_account",
    "account_name_kana",
    "children",
    "applicant.family_name",
]
FIELDS: dict[str, Any] = {
    "filing_date": "令和8年11月20日",
    "claimant_name": "山田 花子",
    "claimant_kana": "ヤマダ ハナコ",
    "claimant_birth_date": "平成2年5月5日",
    "claimant_sex": "female",
    "claimant_address": "熊本市中央区手取本町1-1",
    "claimant_phone": "096-000-0000",
    "claimant_my_number": my_number("12345678901"),
    "pension_type": "厚生年金等",
    "has_spouse": "無",
    "claim_reason": "出生",
    "reason_date": "令和8年11月10日",
    "payee_account_kind": "public_benefit",
    "children": [
        {
            "name": "山田 一郎",
            "kana": "ヤマダ イチロウ",
            "birth_date": "令和8年11月10日",
            "relationship": "子",
            "living_together": "はい",
        }
    ],
}


def public_benefit_claim() -> dict[str, Any]:
    return {
        "procedure": PROCEDURE,
        "channel": "bulk_ocr",
        "received_at": datetime.now(UTC).isoformat(),
        "applicant": {"family_name": "山田", "given_name": "花子"},
        "fields": copy.deepcopy(FIELDS),
    }


async def test_a_claim_paid_to_the_public_benefit_account_reaches_the_vendor_and_the_core(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, public_benefit_claim())
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{application_id}")).json()
    assert detail["values"]["payee_account_kind"] == "public_benefit"
    assert [
        p for p in detail["problems"] if p["field"] in ("bank_account", "account_name_kana")
    ] == []

    contract_id = await make_contract(
        server, office, procedures=[PROCEDURE], field_allow_list=ALLOWED
    )
    vendor = await vendor_token(server, office, contract_id)
    [batch] = (await seal(server, office, contract_id))["batches"]
    async with server.client(vendor) as client:
        grant = await lease(client, batch["id"])
        csv_data = (
            await download(client, batch["id"], grant["lease_token"], "csv", "cp932")
        ).content
        [row] = items_of(csv_data, "csv", "cp932")
        # The vendor's file carries the choice; no empty bank-account columns ask for one.
        assert row["payee_account_kind"] == "public_benefit"
        assert not any(column.startswith(("bank_account", "account_name")) for column in row)
        json_data = (await download(client, batch["id"], grant["lease_token"])).content
        [item] = items_of(json_data, "jsonl", "utf-8")
        assert item["values"]["payee_account_kind"] == "public_benefit"
        answers = await push(
            client,
            batch["id"],
            grant["lease_token"],
            [{"item": item["item"], "values": item["values"]}],
        )
        assert answers[0]["status"] == "accepted", answers

    checker = await token(server, office, "operator", "B")
    async with server.client(checker) as b, server.client(office.token("reviewer")) as r:
        verify = await claim(b)
        assert verify is not None and verify["kind"] == "verify"
        assert not any(k.startswith("bank_account") for k in verify["field_keys"])
        keyed = {path: get_path(FIELDS, path) for path in verify["field_keys"]}
        matched = await submit(b, verify, values=keyed)
        assert matched.status_code == 200, matched.text
        assert matched.json()["application_status"] == "review", matched.text
        review = await claim(r)
        assert review is not None and review["kind"] == "review"
        assert review["form"]["values"]["payee_account_kind"] == "public_benefit"
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.status_code == 200, approved.text
        assert approved.json()["application_status"] == "approved"
    async with server.client(office.token("core")) as core:
        feed = (await core.get("/core/approved")).json()
    [record] = feed["items"]
    assert record["application_id"] == application_id
    assert record["values"]["payee_account_kind"] == "public_benefit"
    assert "bank_account" not in record["values"] and "account_name_kana" not in record["values"]


async def test_a_bank_account_next_to_the_public_benefit_account_is_a_problem(
    server: LiveServer, office: Office
) -> None:
    body = public_benefit_claim()
    body["fields"]["bank_account"] = {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "12345",
    }
    application_id = await receive(server, office, body)
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{application_id}")).json()
    assert [(p["field"], p["code"]) for p in detail["problems"]] == [
        ("bank_account", "not_with_public_benefit_account")
    ]
