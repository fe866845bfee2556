"""引越しワンストップ: a 転出届 announced through マイナポータル becomes a 転入予約 of the
destination city; at the kiosk its number issues the 住民異動 ticket and files the 転入届
pre-filled; past its last valid day (法24条の2) the kiosk refuses it and a supervisor sees it."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.domain.deadlines import Calendar
from app.domain.move_in_reservations import last_valid_day
from app.storage.tables import AccessLog, MoveInReservation
from tests.api.test_vendor import db_rows
from tests.support import LiveServer, Office


def today() -> date:
    return datetime.now(UTC).astimezone().date()


def reservation(office: Office, portal_ref: str = "MP-0001", **overrides: Any) -> dict[str, Any]:
    """A family of two announcing their move to this city: out on ``move_out``, in 2 days later."""
    move_out_day = overrides.pop("move_out_day", today())
    body: dict[str, Any] = {
        "portal_ref": portal_ref,
        "office_id": office.id,
        "category_id": office.category("A"),
        "received_at": datetime.now(UTC).isoformat(),
        "applicant": {"family_name": "髙橋", "given_name": "𠮷子"},
        "planned_arrival": (move_out_day + timedelta(days=2)).isoformat(),
        "previous_municipality_code": "401331",
        "move_out": {
            "filing_date": (move_out_day - timedelta(days=10)).isoformat(),
            "filer_name": "髙橋 𠮷子",
            "filer_relation": "self",
            "id_document": "my_number_card",
            "planned_move_date": move_out_day.isoformat(),
            "current_address": "福岡市博多区博多駅前２丁目",
            "destination_address": "熊本市中央区手取本町１－１",
            "destination_household_head_name": "髙橋 𠮷子",
            "card_holder": True,
            "members": [
                {
                    "name": "髙橋 𠮷子",
                    "kana": "タカハシ ヨシコ",
                    "birth_date": "昭和60年4月1日",
                    "sex": "female",
                    "relationship": "世帯主",
                },
                {
                    "name": "髙橋 朗",
                    "kana": "タカハシ アキラ",
                    "birth_date": "令和2年6月3日",
                    "sex": "male",
                    "relationship": "子",
                },
            ],
        },
    }
    body.update(overrides)
    return body


async def reserve(server: LiveServer, office: Office, body: dict[str, Any]) -> Any:
    async with server.client(office.token("intake")) as intake:
        return await intake.post("/move-in-reservations", json=body)


async def check_in(server: LiveServer, office: Office, number: str) -> Any:
    async with server.client(office.token("kiosk")) as kiosk:
        return await kiosk.post(
            f"/offices/{office.id}/move-in-reservations/check-in", json={"number": number}
        )


async def test_a_reservation_checks_in_at_the_kiosk_and_files_a_prefilled_move_in(
    server: LiveServer, office: Office
) -> None:
    made = await reserve(server, office, reservation(office))
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    found = made.json()
    move_out_day = today()
    assert found["status"] == "reserved" and found["state"] == "valid"
    assert (
        found["last_valid_day"]
        == last_valid_day(move_out_day, move_out_day + timedelta(days=2), Calendar()).isoformat()
    )
    assert found["last_valid_day"] >= (move_out_day + timedelta(days=16)).isoformat()
    number = found["number"]
    async with server.client(office.token("intake")) as intake:
        qr = await intake.get(f"/move-in-reservations/{number}/qr.svg")
        assert qr.status_code == 200 and qr.text.lstrip().startswith("<")

    # The resident types the number without its hyphen, in lower case.
    ticket = await check_in(server, office, number.replace("-", "").lower())
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["number"].startswith("A-")
    application_id = ticket.json()["application_id"]
    async with server.client(office.token("operator")) as operator:
        application = (await operator.get(f"/applications/{application_id}")).json()
    assert application["procedure"] == "resident.move_in"
    assert application["channel"] == "online"
    assert application["ticket_id"] == ticket.json()["id"]
    values = application["values"]
    assert values["transfer_method"] == "card_special"
    assert values["new_address"] == "熊本市中央区手取本町１－１"  # as written, never normalised
    assert values["previous_address"] == "福岡市博多区博多駅前２丁目"
    assert [m["name"] for m in values["members"]] == ["髙橋 𠮷子", "髙橋 朗"]
    assert application["due_on"] is not None

    again = await check_in(server, office, number)
    assert again.status_code == 409
    async with server.client(office.token("counter")) as counter:
        shown = (await counter.get(f"/move-in-reservations/{number}")).json()
    assert shown["status"] == "checked_in" and shown["application_id"] == application_id
    logged = await db_rows(
        server, select(AccessLog.action, AccessLog.actor_role).where(AccessLog.entity_id != "")
    )
    assert ("view", "counter") in {(a, r) for a, r in logged}
    # Checked in, the reservation keeps no personal data: the 転入届 holds it.
    [(applicant, fields)] = await db_rows(
        server, select(MoveInReservation.applicant, MoveInReservation.fields)
    )
    assert (applicant, fields) == ({}, {})


async def test_the_same_portal_id_twice_is_one_reservation_and_other_content_conflicts(
    server: LiveServer, office: Office
) -> None:
    first = await reserve(server, office, reservation(office))
    again = await reserve(server, office, reservation(office))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    changed = reservation(office)
    changed["move_out"]["destination_address"] = "熊本市北区植木町１"
    conflict = await reserve(server, office, changed)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "portal_ref_conflict"


async def test_an_expired_reservation_is_refused_at_the_kiosk_and_listed_for_supervisors(
    server: LiveServer, office: Office
) -> None:
    old = await reserve(
        server, office, reservation(office, "MP-OLD", move_out_day=today() - timedelta(days=45))
    )
    soon = await reserve(
        server, office, reservation(office, "MP-SOON", move_out_day=today() - timedelta(days=14))
    )
    later = await reserve(server, office, reservation(office, "MP-LATER"))
    assert old.json()["state"] == "expired" and soon.json()["state"] == "expiring"

    refused = await check_in(server, office, old.json()["number"])
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "reservation_expired"
    assert "転出証明書" in problem["detail"] and "move-out certificate" in problem["detail"]
    assert problem["context"]["last_valid_day"] == old.json()["last_valid_day"]

    async with server.client(office.token("supervisor")) as supervisor:
        expired = (await supervisor.get("/move-in-reservations?state=expired")).json()
        expiring = (await supervisor.get("/move-in-reservations?state=expiring")).json()
    assert [r["number"] for r in expired] == [old.json()["number"]]
    assert [r["number"] for r in expiring] == [soon.json()["number"]]
    assert later.json()["number"] not in {r["number"] for r in expired + expiring}
    async with server.client(office.token("operator")) as operator:
        assert (await operator.get("/move-in-reservations?state=expired")).status_code == 403


async def test_bad_input_stores_nothing_and_another_citys_number_is_not_found(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    broken = reservation(office, "MP-BAD")
    broken["move_out"]["members"][0]["birth_date"] = "令和99年13月1日"
    bad = await reserve(server, office, broken)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "move_out.members[0].birth_date" in {e["field"] for e in bad.json()["errors"]}
    backwards = reservation(office, "MP-BACK")
    backwards["planned_arrival"] = (today() - timedelta(days=3)).isoformat()
    refused = await reserve(server, office, backwards)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["planned_arrival"]
    late = reservation(office, "MP-LATE")
    late["planned_arrival"] = (today() + timedelta(days=31)).isoformat()
    too_late = await reserve(server, office, late)
    assert [e["code"] for e in too_late.json()["errors"]] == ["after_special_window"]
    wrong_code = await reserve(
        server, office, reservation(office, "MP-CODE", previous_municipality_code="401332")
    )
    assert wrong_code.status_code == 422
    async with server.client(office.token("supervisor")) as supervisor:
        assert (await supervisor.get("/move-in-reservations?state=expired")).json() == []

    theirs = await reserve(server, other_office, reservation(other_office, "MP-0001"))
    assert theirs.status_code == 201, theirs.text
    number = theirs.json()["number"]
    assert (await check_in(server, office, number)).status_code == 404
    async with server.client(office.token("counter")) as counter:
        assert (await counter.get(f"/move-in-reservations/{number}")).status_code == 404
    # The same portal id in another city is that city's own reservation.
    assert (await reserve(server, office, reservation(office, "MP-0001"))).status_code == 201
