"""DOMAIN.md §7.20 and §7.23 through HTTP: an approved 児童手当 claim shows its payment schedule,
and a later move of that claimant proposes a 氏名・住所変更届 where prompts appear."""

import copy
from typing import Any

from app.domain.applications import get_path
from tests.api.test_public_benefit_account import FIELDS as CLAIM_FIELDS
from tests.api.test_work_queue import claim, receive, submit, token, warnings_of
from tests.factories import move_in, my_number
from tests.support import LiveServer, Office

CLAIMANT = {
    "claimant_name": "髙橋 𠮷子",
    "claimant_kana": "タカハシ ヨシコ",
    "claimant_birth_date": "昭和60年4月1日",
    "claimant_my_number": my_number(),
    "claimant_address": "熊本市中央区手取本町１－１",
}


def allowance_claim() -> dict[str, Any]:
    """A 児童手当 認定請求 received 10 days after the birth (15日特例: paid from December)."""
    fields = {**copy.deepcopy(CLAIM_FIELDS), **CLAIMANT}
    fields["filing_date"] = "令和8年11月20日"
    fields["reason_date"] = "令和8年11月10日"
    fields["children"][0] = {
        **fields["children"][0],
        "name": "髙橋 一郎",
        "kana": "タカハシ イチロウ",
        "birth_date": "令和8年11月10日",
    }
    return {
        "procedure": "child_allowance.claim",
        "channel": "counter",
        "received_at": "2026-11-20T01:00:00+00:00",
        "applicant": {"family_name": "髙橋", "given_name": "𠮷子"},
        "fields": fields,
    }


def move_within(name: str, number: str | None) -> dict[str, Any]:
    """A 転居 on Saturday 14 November 2026: 15 days later is a Sunday."""
    body = move_in()
    body["procedure"] = "resident.move_within"
    fields = body["fields"]
    for key in ("transfer_method", "previous_resident_code", "previous_postal_code"):
        fields.pop(key, None)
    fields.update(
        move_date="令和8年11月14日",
        previous_address="熊本市中央区手取本町１－１",
        new_address="熊本市東区月出３－１",
        household_head_name=name,
    )
    member = {**fields["members"][0], "name": name, "hittousha": name}
    member.pop("my_number")
    if number:
        member["my_number"] = number
    fields["members"] = [member]
    body["ocr"] = None
    return body


async def approve(server: LiveServer, office: Office, body: dict[str, Any]) -> str:
    """Entry, blind verify and review by three people; the application's id."""
    application_id = await receive(server, office, body)
    keyer = await token(server, office, "operator", f"A {application_id}")
    checker = await token(server, office, "operator", f"B {application_id}")
    async with (
        server.client(keyer) as a,
        server.client(checker) as b,
        server.client(office.token("reviewer")) as r,
    ):
        entry = await claim(a)
        assert entry is not None and entry["application_id"] == application_id
        keyed = await submit(a, entry, values=dict(entry["form"]["values"]))
        assert keyed.status_code == 200, keyed.text
        verify = await claim(b)
        if verify is not None:
            answers = {p: get_path(body["fields"], p) for p in verify["field_keys"]}
            assert (await submit(b, verify, values=answers)).status_code == 200
        review = await claim(r)
        assert review is not None and review["application_id"] == application_id
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved", approved.text
    return application_id


async def read(server: LiveServer, office: Office, application_id: str, role: str) -> Any:
    async with server.client(office.token(role)) as client:
        response = await client.get(f"/applications/{application_id}")
    assert response.status_code == 200, response.text
    return response.json()


def change_notices(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in detail["proposals"] if p.get("claim_id")]


async def test_an_approved_claim_shows_its_even_month_payments(
    server: LiveServer, office: Office
) -> None:
    claim_id = await approve(server, office, allowance_claim())
    schedule = (await read(server, office, claim_id, "reviewer"))["payment_schedule"]
    assert schedule["first_month"] == "2026-12" and schedule["last_month"] == "2045-03"
    assert schedule["payments"][:2] == [
        {"pay_on": "2027-02-10", "months": ["2026-12", "2027-01"], "amount": 30000},
        {"pay_on": "2027-04-09", "months": ["2027-02", "2027-03"], "amount": 30000},
    ]
    moved = await approve(server, office, move_within("髙橋 𠮷子", my_number()))
    assert (await read(server, office, moved, "supervisor"))["payment_schedule"] is None


async def test_a_move_of_a_known_claimant_proposes_the_change_notice(
    server: LiveServer, office: Office
) -> None:
    claim_id = await approve(server, office, allowance_claim())
    move = move_within("髙橋 𠮷子", my_number())
    pending = await receive(server, office, copy.deepcopy(move))
    assert change_notices(await read(server, office, pending, "reviewer")) == []
    async with server.client(office.token("supervisor")) as supervisor:
        withdrawn = await supervisor.post(
            f"/applications/{pending}/withdraw", json={"reason": "二重受付"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
    moved = await approve(server, office, move)
    [notice] = change_notices(await read(server, office, moved, "reviewer"))
    assert notice == {
        "procedure": "child_allowance.change_notice",
        "name_ja": "児童手当 氏名・住所変更届",
        "claim_id": claim_id,
        "members": ["members[0]"],
        "change_kind": "address",
        # 14 Nov + 15 days is Sunday 29 November: rolled to Monday.
        "due_on": "2026-11-30",
        "reason": notice["reason"],
    }


async def test_without_a_my_number_the_name_must_be_exactly_the_claims(
    server: LiveServer, office: Office
) -> None:
    await approve(server, office, allowance_claim())
    other_glyphs = await approve(server, office, move_within("高橋 吉子", None))
    assert change_notices(await read(server, office, other_glyphs, "reviewer")) == []
    same = await approve(server, office, move_within("髙橋 𠮷子", None))
    [notice] = change_notices(await read(server, office, same, "reviewer"))
    assert notice["change_kind"] == "address"


async def test_a_new_name_under_the_same_my_number_is_a_name_and_address_change(
    server: LiveServer, office: Office
) -> None:
    claim_id = await approve(server, office, allowance_claim())
    renamed = await approve(server, office, move_within("山田 𠮷子", my_number()))
    [notice] = change_notices(await read(server, office, renamed, "supervisor"))
    assert (notice["claim_id"], notice["change_kind"]) == (claim_id, "name_and_address")
    stranger = await approve(server, office, move_within("髙橋 𠮷子", my_number("12345678901")))
    assert change_notices(await read(server, office, stranger, "reviewer")) == []
