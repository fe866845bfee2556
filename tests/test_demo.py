"""`madoguchi seed-demo` (and `serve --demo`): a demo where every console role does its work with
the printed credentials, and re-seeding creates nothing and prints the same."""

import asyncio
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import func, select

from app.domain.applications import get_path
from app.services import demo_samples
from app.services.intake import merge_ocr
from app.services.vendor_contracts import DEMO_PROCEDURES
from app.storage.db import create_engine
from app.storage.tables import ApiToken, Application, Staff, Ticket
from clients.vendor.cli import VendorClient
from tests.api.test_work_queue import claim, submit, warnings_of
from tests.support import LiveServer, make_settings, run_server


def madoguchi(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def seeded(database_url: str, **env: str) -> dict[str, Any]:
    result = madoguchi(database_url, "seed-demo", "--json", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def row_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {
                table.__name__: int(
                    (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                )
                for table in (ApiToken, Staff, Application, Ticket)
            }
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def signed_in(
    server: LiveServer, demo: dict[str, Any], key: str
) -> AsyncIterator[httpx2.AsyncClient]:
    """The console of one demo person, signed in with the printed staff number and password."""
    person = demo["staff"][key]
    async with server.client() as client:
        response = await client.post(
            "/auth/login",
            json={
                "municipality": demo["municipality"],
                "staff_id": person["staff_id"],
                "password": person["password"],
            },
        )
        assert response.status_code == 200, response.text
        client.headers["X-Madoguchi-CSRF"] = response.json()["csrf_token"]
        yield client


def sample(external_ref: str) -> dict[str, Any]:
    return next(s for s in demo_samples.samples() if s["external_ref"] == external_ref)


async def test_seeding_again_prints_the_same_and_creates_nothing(clean_db: str) -> None:
    first = madoguchi(clean_db, "seed-demo")
    assert first.returncode == 0, first.stderr
    counts = await row_counts(clean_db)
    again = madoguchi(clean_db, "seed-demo")
    assert again.stdout == first.stdout
    assert await row_counts(clean_db) == counts
    assert counts["Staff"] == 7 and counts["Application"] == 30 and counts["Ticket"] == 4
    as_json = seeded(clean_db)
    assert await row_counts(clean_db) == counts
    # Every page's link, each console role with its sign-in name, the vendor's command.
    printed = first.stdout
    office = as_json["offices"][0]
    assert len(office["counters"]) == 4 and len(office["categories"]) == 5
    for path in ("/docs", "/display/?office=", "/kiosk/?office=", "/status/?office=", "/console/"):
        assert path in printed, path
    assert printed.count("/counter/?counter=") == 4
    reservation = as_json["move_in_reservation"]
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", reservation["number"])
    assert f"move-in reservation (kiosk, 転入予約の方): {reservation['number']}" in printed
    for person in as_json["staff"].values():
        assert re.search(rf"{person['staff_id']} +{re.escape(person['password'])} ", printed)
    assert (
        f"madoguchi-vendor --url http://127.0.0.1:8000 --token {as_json['tokens']['vendor']} list"
        in printed
    )
    roles = {p["role"] for p in as_json["staff"].values()}
    assert roles == {"operator", "reviewer", "supervisor", "vendor_manager"}
    employers = [(p["role"], p["employer"]) for p in as_json["staff"].values()]
    assert employers.count(("operator", "city")) == 2
    assert employers.count(("operator", "vendor")) == 2


def test_production_settings_refuse_the_demo(clean_db: str) -> None:
    refused = madoguchi(
        clean_db,
        "seed-demo",
        MADOGUCHI_ENVIRONMENT="production",
        MADOGUCHI_AUDIT__KEY="k" * 40,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert "production" in refused.stderr


async def test_every_console_role_works_the_demo_end_to_end(clean_db: str, tmp_path: Path) -> None:
    settings = make_settings(clean_db)
    demo = seeded(clean_db, MADOGUCHI_ATTACHMENT_DIR=settings.attachment_dir)
    refs = {a["external_ref"]: a["id"] for a in demo["applications"]}
    async with run_server(settings) as server:
        # Samples with problems, and OCR ones with the scanned page, are in the queue.
        async with signed_in(server, demo, "supervisor") as supervisor:
            faulty = (await supervisor.get(f"/applications/{refs['demo-008']}")).json()
            page = demo_samples.scanned_page()
            scan = await supervisor.get(f"/attachments/{hashlib.sha256(page).hexdigest()}")
        assert ("members[0].my_number", "my_number_check_digit") in {
            (p["field"], p["code"]) for p in faulty["problems"]
        }
        assert scan.status_code == 200 and scan.content == page
        # The vendor's 管理責任者 directs the vendor's own operators: 転入届 and 転居届 only.
        moves = ["resident.move_in", "resident.move_within"]
        async with signed_in(server, demo, "vendor_manager") as manager:
            listed_operators = (await manager.get("/work/operators")).json()
            # (and the demo's operator token of no person, for scripts)
            assert {o["staff_id"] for o in listed_operators if o["staff_id"]} == {
                demo["staff"][key]["staff_id"] for key in ("operator_vendor", "operator_vendor_2")
            }
            person = demo["staff"]["operator_vendor"]["person_id"]
            qualified = await manager.put(f"/work/operators/{person}/qualifications", json=moves)
            assert qualified.status_code == 200, qualified.text
            assert qualified.json()["qualifications"] == moves
        # A vendor operator keys a scanned 転入届 (OCR readings, some of low confidence).
        async with signed_in(server, demo, "operator_vendor") as vendor_operator:
            entry = await claim(vendor_operator, kinds=["entry"], procedures=["resident.move_in"])
            assert entry is not None and entry["procedure"] == "resident.move_in"
            assert min(r["confidence"] for r in entry["form"]["ocr"].values()) < 0.7
            keyed = await submit(vendor_operator, entry, values=entry["form"]["values"])
            assert keyed.status_code == 200, keyed.text
            assert keyed.json()["application_status"] == "verify"
        application_id = entry["application_id"]
        async with signed_in(server, demo, "supervisor") as supervisor:
            shown = (await supervisor.get(f"/applications/{application_id}")).json()
        form = sample(shown["external_ref"])
        values = merge_ocr(form["fields"], form.get("ocr"))
        # A city operator keys the risky fields blind and misreads one: a mismatch to settle.
        async with signed_in(server, demo, "operator") as checker:
            verify = await claim(checker, kinds=["verify"])
            assert verify is not None and verify["application_id"] == application_id
            answers = {path: get_path(values, path) for path in verify["field_keys"]}
            misread = next(
                path
                for path in verify["field_keys"]
                if isinstance(answers[path], str) and "my_number" not in path
            )
            answers[misread] += "X"
            mismatched = await submit(checker, verify, values=answers)
            assert mismatched.status_code == 200, mismatched.text
            assert mismatched.json()["application_status"] == "settle"
        # A third operator settles it from the paper.
        async with signed_in(server, demo, "operator_2") as settler:
            settle = await claim(settler, kinds=["settle"])
            assert settle is not None and settle["application_id"] == application_id
            assert misread in settle["field_keys"]
            settled = await submit(
                settler,
                settle,
                values={path: get_path(values, path) for path in settle["field_keys"]},
            )
            assert settled.status_code == 200, settled.text
            assert settled.json()["application_status"] == "review"
        async with signed_in(server, demo, "reviewer") as reviewer:
            review = await claim(reviewer)
            assert review is not None and review["application_id"] == application_id
            approved = await submit(
                reviewer, review, decision="approve", acknowledge=warnings_of(review)
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["application_status"] == "approved"
        async with server.client(demo["tokens"]["core"]) as core:
            feed = (await core.get("/core/approved")).json()
        assert [item["application_id"] for item in feed["items"]] == [application_id]

        # The supervisor seals the vendor's entry work; the vendor's command pulls it with the
        # printed token, pushes what it keyed and closes the delivery.
        contract_id = demo["vendor_contracts"][0]["id"]
        async with signed_in(server, demo, "supervisor") as supervisor:
            sealed = await supervisor.post(f"/admin/vendor-contracts/{contract_id}/seal")
        assert sealed.status_code == 200, sealed.text
        assert sealed.json()["batches"]
        delivered = await asyncio.to_thread(
            vendor_round, server.url, demo["tokens"]["vendor"], tmp_path
        )
        assert delivered and all(
            answer["status"] == "accepted" and answer["application_status"] == "verify"
            for batch in delivered
            for answer in batch["answers"]
        )
        assert all(batch["closed"]["state"] == "acknowledged" for batch in delivered)
        # The city sees the results: every batch closed with a result per item, and the keyed
        # applications wait for a city operator's blind verification.
        async with signed_in(server, demo, "supervisor") as supervisor:
            listed = (await supervisor.get("/admin/vendor-batches")).json()["items"]
        results = {b["id"]: b["results_count"] for b in listed if b["state"] == "acknowledged"}
        assert results == {b["id"]: len(b["answers"]) for b in delivered}
        async with signed_in(server, demo, "operator_2") as city_operator:
            verify = await claim(city_operator, kinds=["verify"])
        assert verify is not None and verify["procedure"] in DEMO_PROCEDURES


def vendor_round(url: str, token: str, folder: Path) -> list[dict[str, Any]]:
    """What the vendor does with `madoguchi-vendor list / pull / push / ack`: every ready batch
    downloaded and verified, each item keyed as the paper says (the values as delivered)."""
    http = httpx2.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    delivered = []
    with http:
        vendor = VendorClient(http, folder)
        for batch in vendor.list("ready"):
            path = vendor.download(batch["id"], "jsonl", "utf-8", vendor.lease(batch["id"]))
            lines = [
                json.dumps({"item": item["item"], "values": item["values"]}).encode() + b"\n"
                for item in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            ]
            assert len(lines) == batch["item_count"] > 0
            answers = list(vendor.push(batch["id"], iter(lines)))
            delivered.append(
                {"id": batch["id"], "answers": answers, "closed": vendor.ack(batch["id"])}
            )
    return delivered
