"""The visibility policy where data changes: vendor keying, a DV reason keyed later."""

import httpx2

from tests.api.test_vendor import download, lease, make_contract, seal, vendor_token
from tests.api.test_visibility_matrix import ALLOW, OUTSIDE_ALLOW, PROCEDURE, post_json, report
from tests.support import LiveServer, Office


async def vendor_operator(server: LiveServer, office: Office) -> str:
    async with server.client(office.token("admin")) as admin:
        contract = (
            await post_json(
                admin,
                "/admin/vendor-contracts",
                {
                    "vendor_name": "入力センター株式会社",
                    "procedures": [PROCEDURE],
                    "field_allow_list": ALLOW,
                },
            )
        )["id"]
        return str(
            (
                await post_json(
                    admin,
                    "/admin/tokens",
                    {
                        "role": "operator",
                        "name": "委託 オペレーター",
                        "employer": "vendor",
                        "contract_id": contract,
                    },
                )
            )["token"]
        )


async def stored_values(client: httpx2.AsyncClient, application_id: str) -> dict[str, object]:
    answer = await client.get(
        f"/applications/{application_id}", params={"reveal_my_number": "true"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["values"]  # type: ignore[no-any-return]


async def test_a_vendor_operator_keys_only_the_contracts_fields_and_the_rest_stays(
    server: LiveServer, office: Office
) -> None:
    body = report("公開 一郎", "44444444444")
    async with server.client(office.token("intake")) as intake:
        application_id = (await post_json(intake, "/applications", body))["id"]
    token = await vendor_operator(server, office)
    async with server.client(token) as operator, server.client(office.token("operator")) as city:
        before = await stored_values(city, application_id)
        task = await post_json(operator, "/work/claim", {}, 200)
        form = task["form"]["values"]
        assert (
            "spouse_name" not in form
            and "claimant_my_number" not in form
            and "filing_reason" not in form
        )
        outside = await operator.post(
            f"/work/{task['id']}/submit",
            json={
                "lease_token": task["lease_token"],
                "values": {**form, "spouse_name": "別人 三郎"},
            },
        )
        assert outside.status_code == 422, outside.text
        assert [e["field"] for e in outside.json()["errors"]] == ["values.spouse_name"]
        assert await stored_values(city, application_id) == before  # nothing changed
        keyed = await operator.post(
            f"/work/{task['id']}/submit",
            json={
                "lease_token": task["lease_token"],
                "values": {**form, "claimant_name": "公開 一朗"},
            },
        )
        assert keyed.status_code == 200, keyed.text
        after = await stored_values(city, application_id)
    assert after["claimant_name"] == "公開 一朗"
    assert after["spouse_name"] == OUTSIDE_ALLOW  # fields the vendor never saw stay as they were
    assert after["claimant_my_number"] == body["fields"]["claimant_my_number"]
    assert after["filing_reason"] == "other"


async def test_a_dv_reason_keyed_at_entry_keeps_every_later_step_with_the_city(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        application_id = (
            await post_json(intake, "/applications", report("公開 一郎", "44444444444"))
        )["id"]
    token = await vendor_operator(server, office)
    async with server.client(office.token("operator")) as city, server.client(token) as vendor:
        assert (await vendor.get(f"/applications/{application_id}")).status_code == 200
        entry = await post_json(city, "/work/claim", {}, 200)
        keyed = await city.post(
            f"/work/{entry['id']}/submit",
            json={
                "lease_token": entry["lease_token"],
                "values": {**entry["form"]["values"], "filing_reason": "dv_evacuee"},
            },
        )
        assert keyed.status_code == 200, keyed.text
        assert (await city.get(f"/applications/{application_id}")).json()["is_protected"] is True
        assert (
            await vendor.post("/work/claim", json={})
        ).status_code == 204  # the verify task is city-only
        assert (await vendor.get(f"/applications/{application_id}")).status_code == 404


async def test_a_form_that_alone_says_dv_evacuee_reaches_no_vendor_queue_or_batch(
    server: LiveServer, office: Office
) -> None:
    """支援措置 marked only by the form's own field (no sender flag): city staff only."""
    async with server.client(office.token("intake")) as intake:
        for body in (
            report("鬼塚 美咲", "55555555555", reason="dv_evacuee"),
            report("公開 一郎", "44444444444"),
        ):
            await post_json(intake, "/applications", body)
    contract = await make_contract(server, office, procedures=[PROCEDURE], field_allow_list=ALLOW)
    async with server.client(office.token("admin")) as admin:
        operator_token = (
            await post_json(
                admin,
                "/admin/tokens",
                {
                    "role": "operator",
                    "name": "委託 入力",
                    "employer": "vendor",
                    "contract_id": contract,
                },
            )
        )["token"]
    async with server.client(operator_token) as operator:
        task = await post_json(operator, "/work/claim", {}, 200)
        assert task["form"]["values"]["claimant_name"] == "公開 一郎"
        assert (await operator.post("/work/claim", json={})).status_code == 204
        released = await operator.post(
            f"/work/{task['id']}/release", json={"lease_token": task["lease_token"]}
        )
        assert released.status_code == 200, released.text
    [batch] = (await seal(server, office, contract))["batches"]
    assert batch["item_count"] == 1
    async with server.client(await vendor_token(server, office, contract)) as system:
        grant = await lease(system, batch["id"])
        text = (await download(system, batch["id"], grant["lease_token"])).text
    assert "公開 一郎" in text and "鬼塚" not in text


async def test_a_vendor_side_caller_without_a_contract_sees_nothing(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        application_id = (
            await post_json(intake, "/applications", report("公開 一郎", "44444444444"))
        )["id"]
    async with server.client(office.token("admin")) as admin:
        loose = (
            await post_json(
                admin,
                "/admin/tokens",
                {"role": "operator", "name": "契約なし", "employer": "vendor"},
            )
        )["token"]
        system = (
            await post_json(admin, "/admin/tokens", {"role": "vendor", "name": "契約なし system"})
        )["token"]
        city_contract = await admin.post(
            "/admin/tokens",
            json={
                "role": "operator",
                "name": "市職員",
                "employer": "city",
                "contract_id": (await admin.get("/admin/vendor-contracts")).json()[0]["id"],
            },
        )
    assert city_contract.status_code == 422  # city staff work under no vendor contract
    async with server.client(loose) as operator, server.client(system) as manager:
        assert (await operator.post("/work/claim", json={})).status_code == 204
        refused = await operator.get(f"/applications/{application_id}")
        assert refused.status_code == 403 and "contract" in refused.json()["detail"]
        assert (await manager.get("/work/vendor-queue")).status_code == 403


async def test_held_back_work_names_residents_characters_and_is_logged(
    server: LiveServer, office: Office
) -> None:
    from sqlalchemy import select

    from app.storage.tables import AccessLog
    from tests.api.test_vendor import db_rows, sealed_batch
    from tests.api.test_vendor import report as rearing_report

    contract_id, _token, sealed = await sealed_batch(server, office, [rearing_report("𠮷田 花子")])
    [held] = sealed["held_back"]
    async with server.client(office.token("admin")) as admin:
        listed = await admin.get(f"/admin/vendor-contracts/{contract_id}/held-back")
    assert [h["application_id"] for h in listed.json()] == [held["application_id"]]
    rows = await db_rows(
        server,
        select(AccessLog.actor_role, AccessLog.entity_id, AccessLog.detail)
        .where(AccessLog.action == "view")
        .order_by(AccessLog.id),
    )
    assert [(role, entity, detail["fields"]) for role, entity, detail in rows] == [
        ("supervisor", held["application_id"], ["values.claimant_name"]),  # the seal's answer
        ("admin", held["application_id"], ["values.claimant_name"]),  # the list
    ]


async def test_a_verify_task_with_a_field_outside_the_contract_is_put_back_for_others(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        application_id = (
            await post_json(intake, "/applications", report("公開 一郎", "44444444444"))
        )["id"]
    token = await vendor_operator(server, office)  # its allow-list has no My Number
    async with server.client(office.token("admin")) as admin:
        checker = (
            await post_json(
                admin,
                "/admin/tokens",
                {"role": "operator", "name": "照合 担当", "employer": "city"},
            )
        )["token"]
    async with server.client(office.token("operator")) as city, server.client(token) as vendor:
        entry = await post_json(city, "/work/claim", {}, 200)
        done = await city.post(
            f"/work/{entry['id']}/submit",
            json={"lease_token": entry["lease_token"], "values": entry["form"]["values"]},
        )
        assert done.json()["application_status"] == "verify", done.text
        assert (await vendor.post("/work/claim", json={})).status_code == 204
    async with server.client(checker) as other:
        verify = await post_json(
            other, "/work/claim", {}, 200
        )  # put back untouched, household free
    assert verify["application_id"] == application_id and verify["kind"] == "verify"
    assert "claimant_my_number" in verify["field_keys"]
