"""The change notifications of issue #18 through HTTP: listed in GET /procedures, keyed, verified,
reviewed and approved, and sent to a vendor without the items only city staff may see."""

from typing import Any

import pytest

from app.domain.applications import get_path
from tests.api.test_vendor import download, items_of, lease, make_contract, seal, vendor_token
from tests.api.test_work_queue import claim, receive, submit, token, warnings_of
from tests.factories import NEW_CHANGE_NOTIFICATIONS, change_notification_fields
from tests.support import LiveServer, Office


def envelope(procedure: str) -> dict[str, Any]:
    return {
        "procedure": procedure,
        "channel": "counter",
        "received_at": "2026-11-20T01:00:00+00:00",
        "applicant": {"family_name": "佐藤", "given_name": "花子"},
        "fields": change_notification_fields(procedure),
    }


async def test_the_new_procedures_are_listed_with_their_deadline_and_vendor_split(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("operator")) as operator:
        listed = {p["code"]: p for p in (await operator.get("/procedures")).json()}
    assert set(NEW_CHANGE_NOTIFICATIONS) <= set(listed)
    loss = listed["child_rearing.loss_notice"]
    assert loss["name_ja"] == "児童扶養手当 資格喪失届"
    assert loss["deadline"]["rule"] == {"kind": "promptly"}
    assert "速やかに" in loss["deadline"]["note_ja"]
    fields = {f["key"]: f for f in loss["fields"]}
    assert fields["loss_reason"]["vendor_visible"] is False  # reveals a marriage: city only
    assert fields["claimant_my_number"]["vendor_visible"] is False
    revision = listed["child_rearing.revision"]["deadline"]["rule"]
    assert revision["cases"] == [
        {"when": "revision_kind == 'decrease'", "rule": {"kind": "promptly"}}
    ]
    account = {f["key"]: f for f in listed["child_allowance.account_change"]["fields"]}
    assert account["payee_account_kind"]["choices"][1]["code"] == "public_benefit"
    assert account["bank_account"]["risk"] == "high"
    assert "deadline" not in listed["child_allowance.account_change"]


@pytest.mark.parametrize("procedure", NEW_CHANGE_NOTIFICATIONS)
async def test_a_change_notification_goes_through_entry_verify_and_review(
    server: LiveServer, office: Office, procedure: str
) -> None:
    fields = change_notification_fields(procedure)
    application_id = await receive(server, office, envelope(procedure))
    keyer, checker = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with (
        server.client(keyer) as a,
        server.client(checker) as b,
        server.client(office.token("reviewer")) as r,
    ):
        entry = await claim(a)
        assert entry is not None and entry["kind"] == "entry"
        assert entry["procedure"] == procedure
        assert entry["form"]["values"]["claimant_name"] == "佐藤 花子"
        done = await submit(a, entry, values=fields)
        assert done.status_code == 200, done.text
        assert done.json()["application_status"] == "verify", done.text
        verify = await claim(b)
        assert verify is not None and verify["kind"] == "verify"
        assert "claimant_birth_date" in verify["field_keys"]  # high risk: always double-keyed
        keyed = {path: get_path(fields, path) for path in verify["field_keys"]}
        matched = await submit(b, verify, values=keyed)
        assert matched.json()["application_status"] == "review", matched.text
        review = await claim(r)
        assert review is not None and review["kind"] == "review"
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved", approved.text
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{application_id}")).json()
    assert detail["procedure"] == procedure and detail["status"] == "approved"
    assert detail["due_on"] is None  # 速やかに, or no clock at all: no date is made up


async def test_a_vendor_keys_the_new_procedures_but_never_sees_city_only_items(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        refused = await admin.post(
            "/admin/vendor-contracts",
            json={
                "vendor_name": "入力センター株式会社",
                "procedures": ["child_rearing.loss_notice"],
                "field_allow_list": ["loss_reason"],
                "encodings": ["utf-8"],
            },
        )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "city_only_field"
    for procedure in NEW_CHANGE_NOTIFICATIONS:
        await receive(server, office, envelope(procedure))
    contract_id = await make_contract(
        server,
        office,
        procedures=list(NEW_CHANGE_NOTIFICATIONS),
        field_allow_list=["claimant_name", "claimant_kana", "certificate_number", "loss_date"],
    )
    vendor = await vendor_token(server, office, contract_id)
    batches = (await seal(server, office, contract_id))["batches"]
    rows: list[dict[str, str]] = []
    async with server.client(vendor) as client:
        for batch in batches:
            grant = await lease(client, batch["id"])
            data = (await download(client, batch["id"], grant["lease_token"], "csv")).content
            rows += items_of(data, "csv", "utf-8")
    assert sorted(row["procedure"] for row in rows) == sorted(NEW_CHANGE_NOTIFICATIONS)
    loss = next(row for row in rows if row["procedure"] == "child_rearing.loss_notice")
    assert loss["claimant_name"] == "佐藤 花子" and loss["certificate_number"] == "K-2024-001"
    assert loss["loss_date"]
    columns = {column for row in rows for column in row}
    assert not columns & {"loss_reason", "claimant_my_number", "dependants", "bank_account"}
