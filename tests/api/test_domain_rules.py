"""Issue 25 as a counter would try it: a 永住者 moves in; two procedures of one household."""

from typing import Any

from app.domain.validators import level
from tests.api.test_work_queue import (
    blind_answers,
    claim,
    entry_values,
    receive,
    submit,
    token,
    warnings_of,
)
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office

PERMANENT_RESIDENT = {
    "name": "KIM MINJUN",
    "kana": "キム ミンジュン",
    "birth_date": "1985-04-01",
    "sex": "male",
    "relationship": "世帯主",
    "is_foreign": True,
    "name_alphabet": "KIM MINJUN",
    "nationality": "韓国",
    "residence_category": "mid_long_term",
    "residence_status": "永住者",
    "residence_card_number": "ＡＢ１２３４５６７８ＣＤ",
    "common_name": "金 民俊",
}


def foreign_move_in() -> dict[str, Any]:
    body = move_in()
    body["fields"] = {
        **body["fields"],
        "household_head_name": "KIM MINJUN",
        "members": [PERMANENT_RESIDENT],
    }
    return body


async def test_a_permanent_residents_move_in_without_an_end_of_stay_is_approved(
    server: LiveServer, office: Office
) -> None:
    body = foreign_move_in()
    application_id = await receive(server, office, body)
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
        assert entry is not None
        assert [p for p in entry["form"]["problems"] if p["level"] == "error"] == []
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        verify = await claim(b)
        assert verify is not None
        matched = await submit(b, verify, values=blind_answers(verify, body["fields"]))
        assert matched.json()["application_status"] == "review", matched.text
        review = await claim(r)
        assert review is not None
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved", approved.text
    async with server.client(office.token("core")) as core:
        feed = (await core.get("/core/approved")).json()
    [item] = [i for i in feed["items"] if i["application_id"] == application_id]
    member = item["values"]["members"][0]
    assert (
        member["residence_card_number"] == "AB12345678CD" and "residence_period_end" not in member
    )
    assert member["common_name"] == "金 民俊"


async def test_a_wareki_birth_date_on_a_foreign_resident_is_an_error(
    server: LiveServer, office: Office
) -> None:
    body = foreign_move_in()
    body["fields"]["members"] = [{**PERMANENT_RESIDENT, "birth_date": "昭和60年4月1日"}]
    application_id = await receive(server, office, body)
    async with server.client(office.token("reviewer")) as r:
        shown = (await r.get(f"/applications/{application_id}")).json()
    problems = [(p["field"], p["code"]) for p in shown["problems"]]
    assert ("members[0].birth_date", "seireki_required") in problems
    assert level("seireki_required") == "error"  # blocks approval until corrected


async def test_a_move_in_and_a_claim_at_one_address_in_two_widths_share_the_lock(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())  # 熊本市中央区手取本町１－１, no household reference
    report = status_report()
    report["fields"] = {**report["fields"], "claimant_address": "熊本市中央区 手取本町1-1"}
    await receive(server, office, report)
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as first, server.client(b) as second:
        assert await claim(first) is not None
        assert await claim(second) is None  # the same household is held by A
        assert await claim(first) is not None


async def test_a_workers_stay_items_are_listed_and_a_bad_residence_card_number_is_reported(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("operator")) as operator:
        catalogue = (await operator.get("/procedures")).json()
    for code in ("resident.move_in", "resident.move_out", "resident.household_change"):
        [procedure] = [p for p in catalogue if p["code"] == code]
        [members] = [f for f in procedure["fields"] if f["key"] == "members"]
        mover = {f["key"]: f for f in members["fields"]}
        assert mover["residence_period"]["type"] == "stay_period", code
        assert mover["residence_card_number"]["type"] == "residence_card_number", code
        assert "30条の45" in mover["residence_category"]["label_ja"], code
    body = foreign_move_in()
    worker = {
        **PERMANENT_RESIDENT,
        "residence_status": "技術・人文知識・国際業務",
        "residence_period": "5年1月",
        "residence_period_end": "2028-04-01",
        "residence_card_number": "AB1234567CD",
    }
    body["fields"]["members"] = [worker]
    async with server.client(office.token("intake")) as intake:
        stored = await intake.post("/applications", json=body)
    assert stored.status_code == 201, stored.text
    assert {(p["field"], p["code"]) for p in stored.json()["problems"]} >= {
        ("members[0].residence_card_number", "residence_card_format"),
        ("members[0].residence_period", "stay_period_format"),
    }
