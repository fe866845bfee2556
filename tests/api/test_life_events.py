"""A move is a life event: a family's 転入, keyed and approved through the central queue, becomes
one task per follow-up in each department's queue, once, with its due date; a supervisor sees the
move and its follow-ups as one case; vendor staff and other municipalities see none of it."""

import copy
from datetime import UTC, datetime
from typing import Any

from app.domain.applications import get_path
from tests.api.test_change_notice_prompts import approve
from tests.api.test_work_queue import claim, receive, submit, token, warnings_of
from tests.factories import move_in
from tests.support import LiveServer, Office

MEMBER = {"honseki": "福岡県福岡市", "hittousha": "山本 健一"}


def family_move_in() -> dict[str, Any]:
    """Monday 16 November 2026: two adults, a 3-year-old, a 7-year-old and a 70-year-old."""
    body = move_in()
    body["ocr"] = None
    body["external_ref"] = "family-2026-11-16"
    body["received_at"] = datetime(2026, 11, 20, 1, 0, tzinfo=UTC).isoformat()
    fields = body["fields"]
    fields.update(filer_name="山本 健一", household_head_name="山本 健一")
    people = [
        ("山本 健一", "ヤマモト ケンイチ", "昭和60年5月10日", "male", "世帯主"),
        ("山本 美穂", "ヤマモト ミホ", "昭和62年8月3日", "female", "妻"),
        ("山本 陽菜", "ヤマモト ヒナ", "令和5年6月1日", "female", "子"),  # 3
        ("山本 蓮", "ヤマモト レン", "令和元年5月1日", "male", "子"),  # 7: 小学2年
        ("山本 和子", "ヤマモト カズコ", "昭和31年3月1日", "female", "母"),  # 70
    ]
    fields["members"] = [
        {"name": n, "kana": k, "birth_date": b, "sex": s, "relationship": r, **MEMBER}
        for n, k, b, s, r in people
    ]
    return body


# What the move makes due: 国保 for all five (the 70-year-old is under 75, so not 後期高齢),
# 介護保険 for the 70-year-old, 児童手当 and 子ども医療 for both children, 転入学 for the
# 7-year-old. 16 Nov + 14 days is Monday 30 November; 児童手当's 15 days end Tuesday 1 December.
EXPECTED = {
    *{("health_insurance.join", f"members[{i}]", "2026-11-30") for i in range(5)},
    ("long_term_care.change", "members[4]", "2026-11-30"),
    ("child_allowance.claim", "members[2]", "2026-12-01"),
    ("child_allowance.claim", "members[3]", "2026-12-01"),
    ("child_medical.register", "members[2]", "2026-11-30"),
    ("child_medical.register", "members[3]", "2026-11-30"),
    ("school.transfer_notice", "members[3]", "2026-11-30"),
}


async def life_event(server: LiveServer, office: Office, application_id: str) -> Any:
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.get(f"/life-events/{application_id}")
    assert response.status_code == 200, response.text
    return response.json()


def found(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["kind"], f["member"], f["due_on"]) for f in event["follow_ups"]]


async def reapprove(
    server: LiveServer, office: Office, application_id: str, body: dict[str, Any]
) -> None:
    """Reopened for correction, keyed again unchanged and approved a second time."""
    async with server.client(office.token("supervisor")) as supervisor:
        reopened = await supervisor.post(
            f"/applications/{application_id}/correction", json={"reason": "再確認"}
        )
    assert reopened.status_code == 200, reopened.text
    keyer = await token(server, office, "operator", f"C {application_id}")
    reviewer = await token(server, office, "reviewer", f"R2 {application_id}")
    async with server.client(keyer) as a, server.client(reviewer) as r:
        entry = await claim(a)
        assert entry is not None and entry["application_id"] == application_id
        keyed = await submit(a, entry, values=dict(entry["form"]["values"]))
        assert keyed.status_code == 200, keyed.text
        if keyed.json()["application_status"] == "verify":  # birth dates: always blind-keyed
            checker = await token(server, office, "operator", f"D {application_id}")
            async with server.client(checker) as b:
                verify = await claim(b)
                assert verify is not None
                answers = {p: get_path(body["fields"], p) for p in verify["field_keys"]}
                assert (await submit(b, verify, values=answers)).status_code == 200
        review = await claim(r)
        assert review is not None and review["application_id"] == application_id, review
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved", approved.text


async def test_a_family_move_in_makes_each_follow_up_due_once(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    body = family_move_in()
    filed_first = await receive(server, office, copy.deepcopy(body))
    pending = await life_event(server, office, filed_first)
    assert pending["follow_ups"] == [] and pending["move"]["status"] != "approved"

    application_id = await approve(server, office, copy.deepcopy(body))
    assert application_id == filed_first  # the same form filed twice is one application
    event = await life_event(server, office, application_id)
    assert len(found(event)) == len(EXPECTED) and set(found(event)) == EXPECTED
    assert event["move"]["members"] == 5 and event["move"]["status"] == "approved"
    assert event["open_by_department"] == {
        "health_insurance": 5,
        "long_term_care": 1,
        "child_support": 4,
        "education": 1,
    }
    assert "山本" not in str(event)  # persons by their place on the form, no names

    await reapprove(server, office, application_id, body)
    assert sorted(found(await life_event(server, office, application_id))) == sorted(EXPECTED)

    async with server.client(office.token("operator")) as operator:
        school = await operator.get("/follow-ups", params={"department": "education"})
        unknown = await operator.get("/follow-ups", params={"department": "finance"})
    assert school.status_code == 200, school.text
    [notice] = school.json()
    assert (notice["kind"], notice["member"], notice["due_on"]) == (
        "school.transfer_notice",
        "members[3]",
        "2026-11-30",
    )
    assert notice["name_ja"] == "転入学通知（就学校の指定）" and notice["application_id"] == (
        application_id
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "department"

    vendor_operator = await token(server, office, "operator", "委託 太郎", employer="vendor")
    async with server.client(vendor_operator) as vendor:
        refused = await vendor.get("/follow-ups")
    assert refused.status_code == 403
    async with (
        server.client(other_office.token("supervisor")) as other,
        server.client(other_office.token("operator")) as other_operator,
    ):
        assert (await other.get(f"/life-events/{application_id}")).status_code == 404
        assert (await other_operator.get("/follow-ups")).json() == []


async def test_a_withdrawn_move_cancels_its_follow_ups(server: LiveServer, office: Office) -> None:
    application_id = await approve(server, office, family_move_in())
    async with server.client(office.token("supervisor")) as supervisor:
        withdrawn = await supervisor.post(
            f"/applications/{application_id}/withdraw", json={"reason": "届出の取下げ"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        event = (await supervisor.get(f"/life-events/{application_id}")).json()
        still_open = (await supervisor.get("/follow-ups")).json()
    assert {f["status"] for f in event["follow_ups"]} == {"cancelled"}
    assert event["open_by_department"] == {} and still_open == []


async def test_the_counter_sees_the_departments_a_ticket_s_move_still_involves(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    body = family_move_in()
    body["ticket"] = ticket["id"]
    await approve(server, office, copy.deepcopy(body))
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter('1')}/call-next")
        assert called.json()["id"] == ticket["id"]
        board = await counter.get(f"/counters/{office.counter('1')}")
        other = await counter.get(f"/counters/{office.counter('2')}")  # no ticket there
    assert board.status_code == 200, board.text
    assert [
        (d["department"], d["name_ja"], d["open"]) for d in board.json()["follow_up_departments"]
    ] == [
        ("child_support", "子ども支援課", 4),
        ("education", "教育委員会 学務課", 1),
        ("health_insurance", "国保年金課", 5),
        ("long_term_care", "介護保険課", 1),
    ]
    assert "山本" not in board.text  # departments only, never the family's names
    assert other.json()["follow_up_departments"] == []
