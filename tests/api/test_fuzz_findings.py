"""What the schemathesis run (tests/test_schemathesis.py) found, each kept as a plain test."""

import base64
import json

from tests.factories import move_in, status_report
from tests.support import LiveServer, Office

PROBLEM = "application/problem+json"


async def test_a_ticket_key_outside_ascii_is_not_found_not_a_crash(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client() as anyone:
        for path in (f"/tickets/{ticket['id']}/public", f"/tickets/{ticket['id']}/qr.svg"):
            response = await anyone.get(path, params={"key": "番号札"})
            assert response.status_code == 404, (path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert (await anyone.get(path, params={"key": ticket["public_key"]})).status_code == 200


async def test_a_lease_token_outside_ascii_is_a_stale_lease(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        assert (await intake.post("/applications", json=move_in())).status_code == 201
    async with server.client(office.token("operator")) as operator:
        task = (await operator.post("/work/claim", json={"kinds": ["entry"]})).json()
        for action in ("heartbeat", "release"):
            response = await operator.post(
                f"/work/{task['id']}/{action}", json={"lease_token": "リース"}
            )
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "stale_lease"
        held = await operator.post(
            f"/work/{task['id']}/heartbeat", json={"lease_token": task["lease_token"]}
        )
        assert held.status_code == 200


async def test_a_lease_token_header_outside_ascii_is_refused(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        assert (
            await intake.post("/applications", json=status_report("FINDING-1"))
        ).status_code == 201
    async with server.client(office.token("admin")) as admin:
        contract = (await admin.get("/admin/vendor-contracts")).json()[0]["id"]
        batch = (await admin.post(f"/admin/vendor-contracts/{contract}/seal")).json()["batches"][0][
            "id"
        ]
    async with server.client(office.token("vendor")) as vendor:
        assert (await vendor.post(f"/vendor/batches/{batch}/lease")).status_code == 200
        latin1 = {"Lease-Token": b"r\xe9sum\xe9"}
        for response in (
            await vendor.post(f"/vendor/batches/{batch}/lease", headers=latin1),
            await vendor.post(f"/vendor/batches/{batch}/ack", headers=latin1),
            await vendor.get(f"/vendor/batches/{batch}/items", headers=latin1),
        ):
            assert response.status_code == 409, response.text
            assert response.headers["content-type"] == PROBLEM


async def test_null_contract_terms_are_refused_field_by_field(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        contract = (
            await admin.post(
                "/admin/vendor-contracts",
                json={
                    "vendor_name": "入力センター",
                    "procedures": ["child_rearing.status_report"],
                    "field_allow_list": ["claimant_name"],
                    "legal_basis": "個人番号利用事務の委託契約",
                },
            )
        ).json()
        response = await admin.patch(
            f"/admin/vendor-contracts/{contract['id']}",
            json={"field_allow_list": None, "is_active": None, "legal_basis": None},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert sorted(e["field"] for e in response.json()["errors"]) == [
            "field_allow_list",
            "is_active",
        ]
        assert (await admin.get(f"/admin/vendor-contracts/{contract['id']}")).json() == contract
        cleared = await admin.patch(
            f"/admin/vendor-contracts/{contract['id']}", json={"legal_basis": None}
        )
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["legal_basis"] is None


async def test_a_body_that_is_not_utf8_is_invalid_input(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("admin")) as admin:
        response = await admin.post(
            "/admin/offices",
            content=b'{"name_ja": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0] == {
            "field": "body",
            "code": "invalid_encoding",
            "message": "本文を読み取れません。UTF-8 の JSON を送ってください "
            "(body is not UTF-8 JSON)",
        }
        assert len((await admin.get("/admin/offices")).json()) == 1


async def test_nul_characters_are_invalid_input_wherever_they_are_sent(
    server: LiveServer, office: Office
) -> None:
    """PostgreSQL cannot store or compare U+0000: it was a 500 there, and stored on SQLite."""
    async with server.client(office.token("admin")) as admin:
        nul = "nul_character"
        for response, reason in (
            (
                await admin.get("/admin/vendor-batches", params={"contract_id": "a\x00b"}),
                ("contract_id", nul),
            ),
            (await admin.get("/admin/vendor-contracts/a%00b"), ("contract_id", nul)),
            (
                await admin.post(
                    "/admin/offices", json={"name_ja": "支所\x00", "name_en": "Branch"}
                ),
                ("name_ja", nul),
            ),
            # A bare list of ids: its items are declared without U+0000 (a pattern).
            (
                await admin.put(f"/admin/counters/{office.counter('1')}/categories", json=["\x00"]),
                ("[0]", "string_pattern_mismatch"),
            ),
        ):
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == PROBLEM
            assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [reason]
        cursor = base64.urlsafe_b64encode(b"batch:2026-11-27T00:00:00+00:00|\x00").decode()
        response = await admin.get("/admin/vendor-batches", params={"cursor": cursor})
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "invalid_cursor"
        assert len((await admin.get("/admin/offices")).json()) == 1
    body = move_in()
    body["applicant"]["family_name"] = "髙橋\x00"
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["applicant.family_name"]
        lines = (json.dumps(body) + "\n" + json.dumps(status_report("FINDING-NUL")) + "\n").encode()
        bulk = await intake.post(
            "/applications/bulk", content=lines, headers={"content-type": "application/x-ndjson"}
        )
        results = [json.loads(line) for line in bulk.text.splitlines()]
        assert [r["status"] for r in results] == ["rejected", "created"]
        assert results[0]["errors"][0]["code"] == "nul_character"


async def test_vendor_result_lines_with_nul_characters_are_rejected(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        assert (
            await intake.post("/applications", json=status_report("FINDING-2"))
        ).status_code == 201
    async with server.client(office.token("admin")) as admin:
        contract = (await admin.get("/admin/vendor-contracts")).json()[0]["id"]
        batch = (await admin.post(f"/admin/vendor-contracts/{contract}/seal")).json()["batches"][0][
            "id"
        ]
    async with server.client(office.token("vendor")) as vendor:
        lease = (await vendor.post(f"/vendor/batches/{batch}/lease")).json()["lease_token"]
        item = json.loads(
            (
                await vendor.get(f"/vendor/batches/{batch}/items", headers={"Lease-Token": lease})
            ).text.splitlines()[0]
        )["item"]
        line = json.dumps({"item": item, "values": {"claimant_name": "佐藤\x00花子"}}) + "\n"
        response = await vendor.post(
            f"/vendor/batches/{batch}/results",
            content=line.encode(),
            headers={"Lease-Token": lease, "content-type": "application/x-ndjson"},
        )
        assert response.status_code == 200
        answer = json.loads(response.text)
        assert answer["status"] == "rejected"
        assert answer["errors"][0] == {
            "field": "values.claimant_name",
            "code": "nul_character",
            "message": "NUL 文字 (U+0000) は使えません (text must not contain NUL characters)",
        }
