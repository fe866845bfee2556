"""The outsourcing vendor's pull API: contracts, sealing, minimisation, leases, results, fencing."""

import copy
import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import select, update

from app.settings import VendorSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import AccessLog, Application, Task
from tests.factories import my_number, status_report
from tests.support import LiveServer, Office, make_settings, run_server, seed

PROCEDURE = "child_rearing.status_report"
ALLOWED = [
    "claimant_name",
    "claimant_kana",
    "claimant_birth_date",
    "children",
    "applicant.family_name",
]
CLAIMANT_NUMBER = my_number("12345678901")
CHILD_NUMBER = my_number("98765432109")
EVERY_FILE = [(f, e) for f in ("jsonl", "csv") for e in ("utf-8", "utf-8-sig", "cp932")]
DECODE = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp932": "cp932"}


class Shifted:
    """The server's clock, moved forward by the test (lease expiry without sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def report(name: str = "佐藤 花子", **fields: Any) -> dict[str, Any]:
    body = status_report()
    body["fields"] = {**copy.deepcopy(body["fields"]), "claimant_name": name, **fields}
    return body


async def receive(server: LiveServer, office: Office, body: dict[str, Any]) -> str:
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_contract(server: LiveServer, office: Office, **overrides: Any) -> str:
    body = {
        "vendor_name": "入力センター株式会社",
        "procedures": [PROCEDURE],
        "field_allow_list": ALLOWED,
        "encodings": ["utf-8", "utf-8-sig", "cp932"],
        **overrides,
    }
    async with server.client(office.token("admin")) as admin:
        response = await admin.post("/admin/vendor-contracts", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def vendor_token(server: LiveServer, office: Office, contract_id: str) -> str:
    async with server.client(office.token("admin")) as admin:
        response = await admin.post(
            f"/admin/vendor-contracts/{contract_id}/tokens", json={"name": "vendor system"}
        )
    assert response.status_code == 201, response.text
    assert response.json()["contract_id"] == contract_id
    return str(response.json()["token"])


async def seal(server: LiveServer, office: Office, contract_id: str) -> dict[str, Any]:
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.post(f"/admin/vendor-contracts/{contract_id}/seal")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def lease(client: httpx2.AsyncClient, batch_id: str) -> dict[str, Any]:
    response = await client.post(f"/vendor/batches/{batch_id}/lease")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def download(
    client: httpx2.AsyncClient,
    batch_id: str,
    token: str,
    fmt: str = "jsonl",
    encoding: str = "utf-8",
    **headers: str,
) -> httpx2.Response:
    return await client.get(
        f"/vendor/batches/{batch_id}/items",
        params={"format": fmt, "encoding": encoding},
        headers={"Lease-Token": token, **headers},
    )


async def push(
    client: httpx2.AsyncClient, batch_id: str, token: str, lines: list[Any]
) -> list[dict[str, Any]]:
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    response = await client.post(
        f"/vendor/batches/{batch_id}/results",
        content=body,
        headers={"Lease-Token": token, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


async def db_rows(server: LiveServer, statement: Any) -> list[Any]:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = list((await session.execute(statement)).all())
            await session.commit()
            return rows
    finally:
        await engine.dispose()


async def sealed_batch(
    server: LiveServer, office: Office, bodies: list[dict[str, Any]], **terms: Any
) -> tuple[str, str, dict[str, Any]]:
    """(contract, vendor token, seal answer) after receiving ``bodies`` and sealing."""
    for body in bodies:
        await receive(server, office, body)
    contract_id = await make_contract(server, office, **terms)
    token = await vendor_token(server, office, contract_id)
    return contract_id, token, await seal(server, office, contract_id)


def items_of(data: bytes, fmt: str, encoding: str) -> list[dict[str, Any]]:
    text = data.decode(DECODE[encoding])
    if fmt == "jsonl":
        return [orjson.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text, newline="")))


# ---- contracts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "field", "code"),
    [
        (
            {"field_allow_list": ["claimant_name", "no_such_field"]},
            "field_allow_list[1]",
            "unknown_field",
        ),
        (
            {"field_allow_list": ["claimant_my_number"]},
            "field_allow_list[0]",
            "my_number_not_covered",
        ),
        ({"field_allow_list": ["in_person_confirmed"]}, "field_allow_list[0]", "city_only_field"),
        ({"include_my_number": True}, "legal_basis", "required"),
        ({"steps": ["review"]}, "steps[0]", "not_outsourceable"),
        ({"procedures": ["no.such"]}, "procedures[0]", "unknown_procedure"),
    ],
)
async def test_a_contract_names_real_fields_and_my_numbers_need_a_basis(
    server: LiveServer, office: Office, terms: dict[str, Any], field: str, code: str
) -> None:
    body = {
        "vendor_name": "X",
        "procedures": [PROCEDURE],
        "field_allow_list": ["claimant_name"],
        **terms,
    }
    async with server.client(office.token("admin")) as admin:
        response = await admin.post("/admin/vendor-contracts", json=body)
    assert response.status_code == 422, response.text
    assert {"field": field, "code": code} in [
        {k: e[k] for k in ("field", "code")} for e in response.json()["errors"]
    ]


async def test_a_contract_can_be_changed_and_deactivated(
    server: LiveServer, office: Office
) -> None:
    contract_id = await make_contract(server, office)
    async with server.client(office.token("admin")) as admin:
        changed = await admin.patch(
            f"/admin/vendor-contracts/{contract_id}", json={"batch_size": 2, "is_active": False}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["batch_size"] == 2 and changed.json()["is_active"] is False
        refused = await admin.patch(
            f"/admin/vendor-contracts/{contract_id}", json={"include_my_number": True}
        )
        assert refused.status_code == 422
        listed = (await admin.get("/admin/vendor-contracts")).json()
    assert contract_id in [c["id"] for c in listed]
    await receive(server, office, report())
    assert (await seal(server, office, contract_id))["batches"] == []  # inactive: nothing leaves


# ---- sealing and minimisation ---------------------------------------------------------------


async def test_sealing_takes_entry_work_out_of_the_internal_queue_in_a_stable_order(
    server: LiveServer, office: Office
) -> None:
    _contract, token, sealed = await sealed_batch(
        server, office, [report(f"佐藤 {n}") for n in "一二三"], batch_size=2
    )
    [batch] = sealed["batches"]
    assert batch["item_count"] == 2 and batch["state"] == "ready"
    tasks = sorted(await db_rows(server, select(Task.urgency, Task.id, Task.queue)))
    assert [queue for _u, _id, queue in tasks] == ["batch", "batch", "central"]
    async with server.client(token) as vendor:
        listed = (await vendor.get("/vendor/batches", params={"state": "ready"})).json()
        assert [b["id"] for b in listed["items"]] == [batch["id"]]
        grant = await lease(vendor, batch["id"])
        items = items_of(
            (await download(vendor, batch["id"], grant["lease_token"])).content, "jsonl", "utf-8"
        )
    assert [i["item"] for i in items] == [
        task_id for _u, task_id, _q in tasks[:2]
    ]  # most urgent, then id
    # The third is still internal work; the two sealed ones are not claimable.
    async with server.client(office.token("operator")) as operator:
        claimed = await operator.post("/work/claim", json={"kinds": ["entry"]})
        assert claimed.status_code == 200 and claimed.json()["id"] == tasks[2][1]
        assert (await operator.post("/work/claim", json={"kinds": ["entry"]})).status_code == 204


async def test_only_allowed_fields_no_my_number_and_no_protected_person_in_any_file(
    server: LiveServer, office: Office
) -> None:
    protected = report("保護 対象") | {"support_measure": True}
    _contract, token, sealed = await sealed_batch(server, office, [report(), protected])
    [batch] = sealed["batches"]
    assert batch["item_count"] == 1 and batch["includes_my_number"] is False
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        assert {(f["format"], f["encoding"]) for f in grant["manifest"]["files"]} == set(EVERY_FILE)
        for fmt, encoding in EVERY_FILE:
            data = (
                await download(vendor, batch["id"], grant["lease_token"], fmt, encoding)
            ).content
            text = data.decode(DECODE[encoding])
            for secret in (
                CLAIMANT_NUMBER,
                CHILD_NUMBER,
                "保護",
                "月出",
                "096-000-0000",
                "1800000",
                "given_name",
            ):
                assert secret not in text, (fmt, encoding, secret)
            [item] = items_of(data, fmt, encoding)
            if fmt == "jsonl":
                assert set(item) == {"item", "procedure", "due_on", "applicant", "values", "ocr"}
                assert set(item["values"]) == {
                    "claimant_name",
                    "claimant_kana",
                    "claimant_birth_date",
                    "children",
                }
                assert set(item["values"]["children"][0]) == {
                    "name",
                    "kana",
                    "birth_date",
                    "relationship",
                    "living_together",
                }
                assert item["applicant"] == {"family_name": "佐藤"}
            else:
                assert set(item) == {
                    "item",
                    "procedure",
                    "due_on",
                    "applicant.family_name",
                    "claimant_name",
                    "claimant_kana",
                    "claimant_birth_date",
                    "children[0].name",
                    "children[0].kana",
                    "children[0].birth_date",
                    "children[0].relationship",
                    "children[0].living_together",
                }
            assert (data.startswith(b"\xef\xbb\xbf")) is (encoding == "utf-8-sig")


async def test_my_numbers_leave_only_when_the_contract_covers_them(
    server: LiveServer, office: Office
) -> None:
    _contract, token, sealed = await sealed_batch(
        server,
        office,
        [report()],
        field_allow_list=[*ALLOWED, "claimant_my_number"],
        include_my_number=True,
        legal_basis="番号法9条1項・10条 (個人番号利用事務の委託)",
    )
    [batch] = sealed["batches"]
    assert batch["includes_my_number"] is True
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        assert grant["manifest"]["legal_basis"].startswith("番号法")
        [item] = items_of(
            (await download(vendor, batch["id"], grant["lease_token"])).content, "jsonl", "utf-8"
        )
    assert item["values"]["claimant_my_number"] == CLAIMANT_NUMBER
    assert "my_number" not in item["values"]["children"][0]  # only the one the contract names
    logged = await db_rows(
        server,
        select(AccessLog.action, AccessLog.my_number_shown, AccessLog.detail).where(
            AccessLog.entity_id == batch["id"]
        ),
    )
    assert [(a, shown, d["contract"], d["legal_basis"][:3]) for a, shown, d in logged] == [
        ("vendor_download", True, _contract, "番号法")
    ]


async def test_cp932_preflight_keeps_unencodable_items_home_and_lists_them(
    server: LiveServer, office: Office
) -> None:
    bodies = [report("𠮷田 花子"), report("髙橋 ① 〜"), report("髙橋 花子")]
    contract_id, token, sealed = await sealed_batch(server, office, bodies)
    [batch] = sealed["batches"]
    assert batch["item_count"] == 1
    held = {
        tuple(c["codepoint"] for p in h["problems"] for c in p["chars"])
        for h in sealed["held_back"]
    }
    assert held == {("U+20BB7",), ("U+301C",)}
    assert all(
        p["field"] == "values.claimant_name" for h in sealed["held_back"] for p in h["problems"]
    )
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        data = (await download(vendor, batch["id"], grant["lease_token"], "csv", "cp932")).content
    assert "髙橋 花子".encode("cp932") in data and b"?" not in data
    async with server.client(office.token("admin")) as admin:
        listed = (await admin.get(f"/admin/vendor-contracts/{contract_id}/held-back")).json()
    assert len(listed) == 2
    # They stay in the internal queue, and a second sealing does not list them again.
    assert (await seal(server, office, contract_id)) == {
        "contract_id": contract_id,
        "batches": [],
        "held_back": [],
    }
    async with server.client(office.token("operator")) as operator:
        names = {
            (await operator.post("/work/claim", json={"kinds": ["entry"]})).json()["form"][
                "values"
            ]["claimant_name"]
            for _ in range(2)
        }
    assert names == {"𠮷田 花子", "髙橋 ① 〜"}


async def test_a_utf8_only_contract_carries_any_character(
    server: LiveServer, office: Office
) -> None:
    _contract, token, sealed = await sealed_batch(
        server, office, [report("𠮷田 花子")], encodings=["utf-8"]
    )
    [batch] = sealed["batches"]
    assert sealed["held_back"] == [] and [(f["format"], f["encoding"]) for f in batch["files"]] == [
        ("jsonl", "utf-8"),
        ("csv", "utf-8"),
    ]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        refused = await download(vendor, batch["id"], grant["lease_token"], "csv", "cp932")
        assert (
            refused.status_code == 422
            and refused.json()["errors"][0]["code"] == "encoding_not_in_contract"
        )
        assert (
            "𠮷田".encode()
            in (await download(vendor, batch["id"], grant["lease_token"], "csv")).content
        )


# ---- downloads ------------------------------------------------------------------------------


async def test_redownloads_are_byte_identical_match_the_manifest_and_resume_by_range(
    server: LiveServer, office: Office
) -> None:
    _contract, token, sealed = await sealed_batch(
        server, office, [report(f"佐藤 {n}") for n in "一二三"]
    )
    [batch] = sealed["batches"]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        files = {(f["format"], f["encoding"]): f for f in grant["manifest"]["files"]}
        first = {
            key: (await download(vendor, batch["id"], grant["lease_token"], *key)).content
            for key in files
        }
        for key, data in first.items():
            assert (
                hashlib.sha256(data).hexdigest() == files[key]["sha256"]
                and len(data) == files[key]["bytes"]
            )
        # Later changes to the applications do not change what was sealed.
        await db_rows(
            server,
            update(Application)
            .values(values={"claimant_name": "変更後"})
            .returning(Application.id),
        )
        for key, data in first.items():
            response = await download(vendor, batch["id"], grant["lease_token"], *key)
            assert (
                response.content == data and response.headers["etag"] == f'"{files[key]["sha256"]}"'
            )
        whole = first[("csv", "cp932")]
        part = await download(
            vendor,
            batch["id"],
            grant["lease_token"],
            "csv",
            "cp932",
            Range="bytes=10-",
            **{"If-Range": f'"{files[("csv", "cp932")]["sha256"]}"'},
        )
        assert part.status_code == 206 and part.content == whole[10:]
        assert part.headers["content-range"] == f"bytes 10-{len(whole) - 1}/{len(whole)}"
        other = await download(
            vendor,
            batch["id"],
            grant["lease_token"],
            "csv",
            "cp932",
            Range="bytes=10-",
            **{"If-Range": '"something else"'},
        )
        assert other.status_code == 200 and other.content == whole
        outside = await download(
            vendor, batch["id"], grant["lease_token"], Range=f"bytes={len(whole) * 9}-"
        )
        assert outside.status_code == 416


async def test_small_read_chunks_give_the_same_bytes(clean_db: str) -> None:
    settings = make_settings(clean_db, vendor=VendorSettings(chunk_rows=2, schedule=False))
    async with run_server(settings) as server:
        office = Office(await seed(clean_db))
        _contract, token, sealed = await sealed_batch(
            server, office, [report(f"佐藤 {n}") for n in "一二三四五"]
        )
        [batch] = sealed["batches"]
        async with server.client(token) as vendor:
            grant = await lease(vendor, batch["id"])
            for file in grant["manifest"]["files"]:
                data = (
                    await download(
                        vendor, batch["id"], grant["lease_token"], file["format"], file["encoding"]
                    )
                ).content
                assert hashlib.sha256(data).hexdigest() == file["sha256"]
                assert len(items_of(data, file["format"], file["encoding"])) == 5


async def test_a_column_first_seen_in_a_later_chunk_still_gives_files_that_match(
    clean_db: str,
) -> None:
    """Each item in its own chunk, and each has a field the other has not: whichever is sealed
    first, the second brings a new CSV column, and the CSV checksums are taken again over the
    stored items with the batch's columns."""
    settings = make_settings(clean_db, vendor=VendorSettings(chunk_rows=1, schedule=False))
    child = status_report()["fields"]["children"][0]
    without_kana = {k: v for k, v in child.items() if k != "kana"}
    without_birth = {k: v for k, v in child.items() if k != "birth_date"}
    async with run_server(settings) as server:
        office = Office(await seed(clean_db))
        _contract, token, sealed = await sealed_batch(
            server,
            office,
            [
                report("佐藤 一", children=[without_kana]),
                report("佐藤 二", children=[without_birth, child]),
            ],
        )
        [batch] = sealed["batches"]
        async with server.client(token) as vendor:
            grant = await lease(vendor, batch["id"])
            columns = grant["manifest"]["columns"]
            assert {"children[0].kana", "children[0].birth_date", "children[1].name"} <= set(
                columns
            )
            for file in grant["manifest"]["files"]:
                data = (
                    await download(
                        vendor, batch["id"], grant["lease_token"], file["format"], file["encoding"]
                    )
                ).content
                assert hashlib.sha256(data).hexdigest() == file["sha256"]
                assert len(data) == file["bytes"]
                rows = items_of(data, file["format"], file["encoding"])
                assert len(rows) == 2
                if file["format"] == "csv":
                    assert list(rows[0]) == columns


# ---- results --------------------------------------------------------------------------------


async def test_results_are_entry_submissions_idempotent_per_item_and_reach_city_verification(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, report("佐藤 花了"))
    contract_id = await make_contract(server, office)
    token = await vendor_token(server, office, contract_id)
    [batch] = (await seal(server, office, contract_id))["batches"]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        [item] = items_of(
            (await download(vendor, batch["id"], grant["lease_token"])).content, "jsonl", "utf-8"
        )
        keyed = copy.deepcopy(item["values"]) | {"claimant_name": "佐藤 花子"}
        answers = await push(
            vendor,
            batch["id"],
            grant["lease_token"],
            [
                {"item": item["item"], "values": {"claimant_address": "どこか"}},
                {"item": item["item"], "values": {"claimant_my_number": "123456789018"}},
                {"item": "no-such-item", "values": {}},
                "not an object",
                {"item": item["item"], "values": keyed},
                {"item": item["item"], "values": keyed},
                {"item": item["item"], "values": keyed | {"claimant_name": "別人"}},
            ],
        )
        assert [a["status"] for a in answers] == [
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "accepted",
            "duplicate",
            "conflict",
        ]
        assert answers[0]["errors"][0] == {
            "field": "values.claimant_address",
            "code": "not_allowed",
            "message": answers[0]["errors"][0]["message"],
        }
        assert answers[4]["application_status"] in ("verify", "review")
        again = await push(
            vendor, batch["id"], grant["lease_token"], [{"item": item["item"], "values": keyed}]
        )
        assert (
            again[0]["status"] == "duplicate"
            and again[0]["application_status"] == answers[4]["application_status"]
        )
    [(values, handled_by, employer)] = await db_rows(
        server,
        select(Application.values, Application.handled_by, Application.entry_employer).where(
            Application.id == application_id
        ),
    )
    assert values["claimant_name"] == "佐藤 花子"
    assert values["claimant_my_number"] == CLAIMANT_NUMBER  # a field the vendor never saw stays
    assert values["children"][0]["my_number"] == CHILD_NUMBER
    assert employer == "vendor" and len(handled_by) == 1
    # The second keying is city staff's: the vendor-employed operator gets nothing.
    async with server.client(office.token("operator_vendor")) as outsider:
        assert (await outsider.post("/work/claim", json={})).status_code == 204
    async with server.client(office.token("operator")) as operator:
        verify = await operator.post("/work/claim", json={})
        assert verify.status_code == 200 and verify.json()["kind"] == "verify"
        assert verify.json()["application_id"] == application_id
    logged = await db_rows(
        server,
        select(AccessLog.action, AccessLog.detail)
        .where(AccessLog.entity_id == batch["id"], AccessLog.action == "vendor_upload")
        .order_by(AccessLog.id),
    )
    assert [(d["contract"], d.get("accepted", 0), d["duplicate"]) for _a, d in logged] == [
        (contract_id, 1, 1),
        (contract_id, 0, 1),
    ]


# ---- leases ---------------------------------------------------------------------------------


async def test_lease_expiry_returns_the_batch_to_ready_and_stale_tokens_are_fenced(
    server: LiveServer, office: Office
) -> None:
    clock = Shifted()
    server.app.state.resources.clock = clock
    _contract, token, sealed = await sealed_batch(
        server, office, [report(), report("佐藤 次郎")], lease_s=600
    )
    [batch] = sealed["batches"]
    path = f"/vendor/batches/{batch['id']}"
    async with server.client(token) as vendor:
        first = await lease(vendor, batch["id"])
        assert (await vendor.post(f"{path}/lease")).status_code == 409  # already leased
        renewed = await vendor.post(f"{path}/lease", headers={"Lease-Token": first["lease_token"]})
        assert renewed.status_code == 200 and renewed.json()["lease_token"] == first["lease_token"]
        assert (await vendor.get("/vendor/batches", params={"state": "leased"})).json()["items"]
        clock.offset = timedelta(seconds=601)
        assert [b["id"] for b in (await vendor.get("/vendor/batches")).json()["items"]] == [
            batch["id"]
        ]
        for response in (
            await download(vendor, batch["id"], first["lease_token"]),
            await vendor.post(f"{path}/ack", headers={"Lease-Token": first["lease_token"]}),
        ):
            assert response.status_code == 409 and response.json()["code"] == "stale_lease"
        second = await lease(vendor, batch["id"])
        assert second["lease_token"] != first["lease_token"]
        stale = await vendor.post(
            f"{path}/results", content=b"{}\n", headers={"Lease-Token": first["lease_token"]}
        )
        assert stale.status_code == 409 and stale.json()["code"] == "stale_lease"
        assert (await download(vendor, batch["id"], second["lease_token"])).status_code == 200
        assert (await vendor.post(f"{path}/ack")).status_code == 409  # no token at all
        closed = await vendor.post(f"{path}/ack", headers={"Lease-Token": second["lease_token"]})
        assert closed.status_code == 200 and closed.json() == {
            "batch": batch["id"],
            "state": "acknowledged",
            "results_count": 0,
            "returned_count": 2,
        }
        again = await vendor.post(f"{path}/lease")
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    # Unanswered items are internal work again.
    async with server.client(office.token("operator")) as operator:
        assert (await operator.post("/work/claim", json={"kinds": ["entry"]})).status_code == 200


async def test_city_staff_recall_a_batch_and_the_vendor_is_fenced_out(
    server: LiveServer, office: Office
) -> None:
    _contract, token, sealed = await sealed_batch(server, office, [report(), report("佐藤 次郎")])
    [batch] = sealed["batches"]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        [item, _] = items_of(
            (await download(vendor, batch["id"], grant["lease_token"])).content, "jsonl", "utf-8"
        )
        assert (await push(vendor, batch["id"], grant["lease_token"], [item]))[0][
            "status"
        ] == "accepted"
        async with server.client(office.token("supervisor")) as supervisor:
            recalled = await supervisor.post(f"/admin/vendor-batches/{batch['id']}/recall")
            assert recalled.status_code == 200, recalled.text
            assert recalled.json()["returned_count"] == 1 and recalled.json()["state"] == "recalled"
            listed = (
                await supervisor.get("/admin/vendor-batches", params={"state": "recalled"})
            ).json()
            assert [b["id"] for b in listed["items"]] == [batch["id"]]
            assert (
                await supervisor.post(f"/admin/vendor-batches/{batch['id']}/recall")
            ).status_code == 409
        assert (await download(vendor, batch["id"], grant["lease_token"])).status_code == 409
        assert (
            await vendor.post(
                f"/vendor/batches/{batch['id']}/results",
                content=b"",
                headers={"Lease-Token": grant["lease_token"]},
            )
        ).status_code == 409


# ---- tenancy --------------------------------------------------------------------------------


async def test_another_municipalitys_or_another_vendors_batch_is_not_found(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    _contract, _token, sealed = await sealed_batch(server, office, [report()])
    [batch] = sealed["batches"]
    rival = await vendor_token(
        server, office, await make_contract(server, office, vendor_name="別の事業者")
    )
    foreign = await vendor_token(server, other_office, await make_contract(server, other_office))
    async with server.client(
        other_office.token("admin")
    ) as admin:  # a vendor token bound to nothing
        unbound = (
            await admin.post("/admin/tokens", json={"role": "vendor", "name": "loose"})
        ).json()["token"]
    path = f"/vendor/batches/{batch['id']}"
    for stranger in (rival, foreign, unbound):
        async with server.client(stranger) as client:
            assert (await client.get("/vendor/batches", params={"state": "all"})).json()[
                "items"
            ] == []
            for response in (
                await client.post(f"{path}/lease"),
                await client.get(f"{path}/items", headers={"Lease-Token": "x"}),
                await client.post(f"{path}/results", content=b"", headers={"Lease-Token": "x"}),
                await client.post(f"{path}/ack", headers={"Lease-Token": "x"}),
            ):
                assert response.status_code == 404, response.text
    async with server.client(other_office.token("supervisor")) as supervisor:
        assert (
            await supervisor.post(f"/admin/vendor-batches/{batch['id']}/recall")
        ).status_code == 404
        assert (
            await supervisor.post(f"/admin/vendor-contracts/{_contract}/seal")
        ).status_code == 404


async def test_scheduled_sealing_follows_the_contract_schedule(
    server: LiveServer, office: Office
) -> None:
    from app.domain.clock import SystemClock
    from app.services.batches import seal_due

    await receive(server, office, report())
    contract_id = await make_contract(server, office, seal_every_s=60)
    engine = create_engine(server.settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    later = Shifted()
    later.offset = timedelta(seconds=61)
    try:
        assert await seal_due(sessionmaker, SystemClock(), server.settings) == 0  # not due yet
        assert await seal_due(sessionmaker, later, server.settings) == 1
        assert await seal_due(sessionmaker, later, server.settings) == 0  # the next one is 60 s on
    finally:
        await engine.dispose()
    async with server.client(office.token("admin")) as admin:
        listed = (
            await admin.get("/admin/vendor-batches", params={"contract_id": contract_id})
        ).json()
    assert len(listed["items"]) == 1 and listed["items"][0]["item_count"] == 1
