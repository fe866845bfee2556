"""Intake: one kind of application from every stream; bad envelopes change nothing."""

import json
import unicodedata

from sqlalchemy import func, select

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, Task
from tests.factories import move_in, my_number, status_report
from tests.support import LiveServer, Office

NAME_FAMILY = "髙\ufa10"  # 髙塚, its 塚 the compatibility ideograph U+FA10


async def count(server: LiveServer, table: type) -> int:
    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        result = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    await engine.dispose()
    return int(result)


async def test_form_with_problems_is_stored_with_them_and_names_untouched(
    server: LiveServer, office: Office
) -> None:
    # U+FA10 (塚) is a compatibility ideograph: NFC alone turns it into U+585A (塚).
    body = json.loads(
        json.dumps(move_in(), ensure_ascii=False)
        .replace("髙橋", NAME_FAMILY)
        .replace("タカハシ", "タカツカ")
        .replace("たかはし", "たかつか")
    )
    assert unicodedata.normalize("NFC", NAME_FAMILY) != NAME_FAMILY
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "entry"
    assert created["due_on"] == "2026-11-30"  # R8.11.16 + 14 days
    assert any(
        p["field"] == "members[0].name" and p["code"] == "needs_identification"
        for p in created["problems"]
    )
    # A 転入 with a child under 18 proposes the 児童手当 claim with its 15-day deadline.
    assert created["proposals"][0]["procedure"] == "child_allowance.claim"
    assert created["proposals"][0]["due_on"] == "2026-12-01"
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{created['id']}")).json()
    assert detail["applicant"]["given_name"] == "𠮷子"
    assert detail["applicant"]["family_name"] == NAME_FAMILY
    assert detail["values"]["members"][0]["name"] == NAME_FAMILY + " 𠮷子"
    assert detail["values"]["members"][1]["kana"] == "タカツカ\u3000アキラ"
    assert (
        detail["values"]["members"][0]["kana"] == "タカツカ\u3000ヨシコ"
    )  # hiragana → full-width katakana
    # The stored code points are those received, name by name.
    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Application, created["id"])
        assert stored is not None
        values, applicant = stored.values, stored.applicant
    await engine.dispose()
    assert applicant["family_name"].encode() == NAME_FAMILY.encode()
    for path in ("filer_name", "household_head_name"):
        assert (
            values[path].encode()
            == body["fields"][path].encode()
            == (NAME_FAMILY + " 𠮷子").encode()
        )
    for stored_member, sent in zip(values["members"], body["fields"]["members"], strict=True):
        for key in ("name", "hittousha"):
            assert stored_member[key].encode() == sent[key].encode()
    assert detail["values"]["members"][0]["my_number"] == "********" + my_number()[-4:]
    assert detail["my_number_shown"] is False


async def test_malformed_envelopes_answer_422_and_store_nothing(
    server: LiveServer, office: Office
) -> None:
    bad = [
        move_in(procedure="resident.teleport"),
        {k: v for k, v in move_in().items() if k != "channel"},
        move_in(received_at="2026-11-20T10:00:00"),  # no offset
    ]
    async with server.client(office.token("intake")) as intake:
        for body in bad:
            response = await intake.post("/applications", json=body)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["field"]
        not_json = await intake.post(
            "/applications", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
    assert await count(server, Application) == 0
    assert await count(server, Task) == 0


async def test_same_external_ref_from_same_sender_is_the_same_application(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        first = await intake.post("/applications", json=status_report("OCR-1"))
        again = await intake.post("/applications", json=status_report("OCR-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert await count(server, Application) == 1


async def test_idempotency_key_replays_and_refuses_a_different_body(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        headers = {"Idempotency-Key": "portal-77"}
        first = await intake.post("/applications", json=move_in(), headers=headers)
        replay = await intake.post(
            "/applications", json=json.loads(first.request.content), headers=headers
        )
        other = await intake.post("/applications", json=status_report(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert await count(server, Application) == 1


async def test_bulk_stores_good_lines_reports_bad_ones_and_resends_store_nothing(
    server: LiveServer, office: Office
) -> None:
    lines = [json.dumps(status_report(f"SHEET-{n}"), ensure_ascii=False) for n in range(5)]
    lines.insert(2, "{broken")
    lines.insert(4, json.dumps(status_report("SHEET-X", procedure="nope")))
    body = ("\n".join(lines) + "\n").encode()
    async with server.client(office.token("intake")) as intake:
        response = await intake.post(
            "/applications/bulk", content=body, headers={"content-type": "application/x-ndjson"}
        )
        results = [json.loads(line) for line in response.text.splitlines()]
        assert [r["line"] for r in results] == [1, 2, 3, 4, 5, 6, 7]
        assert [r["status"] for r in results] == [
            "created",
            "created",
            "rejected",
            "created",
            "rejected",
            "created",
            "created",
        ]
        assert results[2]["errors"][0]["code"] == "invalid_json"
        assert results[4]["errors"][0]["field"] == "procedure"
        resend = await intake.post(
            "/applications/bulk", content=body, headers={"content-type": "application/x-ndjson"}
        )
        statuses = [json.loads(line)["status"] for line in resend.text.splitlines()]
    assert statuses == [
        "duplicate",
        "duplicate",
        "rejected",
        "duplicate",
        "rejected",
        "duplicate",
        "duplicate",
    ]
    assert await count(server, Application) == 5


async def test_bulk_rejects_an_overlong_line_and_invalid_utf8_but_keeps_the_rest(
    server: LiveServer, office: Office
) -> None:
    good = json.dumps(status_report("OK-1"), ensure_ascii=False).encode()
    body = (
        good
        + b"\n"
        + b'{"x": "'
        + b"a" * 300_000
        + b'"}\n'
        + b"\xff\xfe\n"
        + good.replace(b"OK-1", b"OK-2")
        + b"\n"
    )
    async with server.client(office.token("intake")) as intake:
        response = await intake.post(
            "/applications/bulk", content=body, headers={"content-type": "application/x-ndjson"}
        )
    results = [json.loads(line) for line in response.text.splitlines()]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created"]
    assert results[1]["errors"][0]["code"] == "line_too_long"
    assert results[2]["errors"][0]["code"] == "invalid_utf8"


async def test_procedure_catalogue_is_served(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("kiosk")) as anyone:
        catalogue = (await anyone.get("/procedures")).json()
    assert len(catalogue) == 17
    move = next(p for p in catalogue if p["code"] == "resident.move_in")
    assert any(f["key"] == "members" for f in move["fields"])


async def test_counter_application_links_its_ticket(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        response = await counter.post(
            "/applications", json=move_in(channel="counter", ticket=ticket["id"])
        )
        assert response.status_code == 201
        assert response.json()["ticket_id"] == ticket["id"]
    async with server.client() as resident:
        public = (
            await resident.get(
                f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
            )
        ).json()
    assert public["progress"] == "received"


async def test_attachments_are_stored_by_hash_and_missing_ones_flagged(
    server: LiveServer, office: Office
) -> None:
    import hashlib

    scan = "住民異動届 スキャン".encode() * 100
    async with server.client(office.token("intake")) as intake:
        stored = await intake.post(
            "/attachments", content=scan, headers={"content-type": "image/tiff"}
        )
        assert stored.status_code == 201
        assert stored.json()["sha256"] == hashlib.sha256(scan).hexdigest()
        body = move_in(
            attachments=[
                {"name": "form.tif", "sha256": stored.json()["sha256"], "media_type": "image/tiff"},
                {"name": "id.jpg", "sha256": "0" * 64, "media_type": "image/jpeg"},
            ]
        )
        created = (await intake.post("/applications", json=body)).json()
    assert [p["field"] for p in created["problems"] if p["code"] == "attachment_missing"] == [
        "attachments[1]"
    ]
    async with server.client(office.token("operator")) as operator:
        download = await operator.get(f"/attachments/{stored.json()['sha256']}")
        assert download.content == scan
    async with server.client(office.token("operator_vendor")) as other:
        assert (await other.get(f"/attachments/{'0' * 64}")).status_code == 404
