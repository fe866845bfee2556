"""`madoguchi seed-demo` (and `serve --demo`): a demo where every console role does its work with
the printed credentials, and re-seeding creates nothing and prints the same."""

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from sqlalchemy import func, select

from app.domain.applications import get_path
from app.services import demo_samples
from app.services.intake import merge_ocr
from app.storage.db import create_engine
from app.storage.tables import ApiToken, Application, Staff, Ticket
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


async def test_every_console_role_works_the_demo_end_to_end(clean_db: str) -> None:
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
        async with signed_in(server, demo, "operator_vendor") as vendor_operator:
            scanned = await claim(vendor_operator, procedures=["resident.move_in"])
            assert scanned is not None and scanned["procedure"] == "resident.move_in"
            assert min(r["confidence"] for r in scanned["form"]["ocr"].values()) < 0.7
            released = await vendor_operator.post(
                f"/work/{scanned['id']}/release", json={"lease_token": scanned["lease_token"]}
            )
            assert released.status_code in (200, 204), released.text
        async with signed_in(server, demo, "operator") as keyer:
            entry = await claim(keyer, kinds=["entry"], procedures=["child_allowance.claim"])
            assert entry is not None and entry["kind"] == "entry"
            application_id = entry["application_id"]
            keyed = await submit(keyer, entry, values=entry["form"]["values"])
            assert keyed.status_code == 200, keyed.text
            assert keyed.json()["application_status"] == "verify"
        async with signed_in(server, demo, "supervisor") as supervisor:
            shown = (await supervisor.get(f"/applications/{application_id}")).json()
        form = sample(shown["external_ref"])
        values = merge_ocr(form["fields"], form.get("ocr"))
        async with signed_in(server, demo, "operator_2") as checker:
            verify = await claim(checker, kinds=["verify"])
            assert verify is not None and verify["application_id"] == application_id
            answers = {path: get_path(values, path) for path in verify["field_keys"]}
            matched = await submit(checker, verify, values=answers)
            assert matched.status_code == 200, matched.text
            assert matched.json()["application_status"] == "review"
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

        # The supervisor seals the vendor's entry work; the vendor pulls it with its token.
        contract_id = demo["vendor_contracts"][0]["id"]
        async with signed_in(server, demo, "supervisor") as supervisor:
            sealed = await supervisor.post(f"/admin/vendor-contracts/{contract_id}/seal")
        assert sealed.status_code == 200, sealed.text
        assert sealed.json()["batches"]
        async with server.client(demo["tokens"]["vendor"]) as vendor:
            batches = (await vendor.get("/vendor/batches")).json()["items"]
            assert batches
            batch = batches[0]
            lease = await vendor.post(f"/vendor/batches/{batch['id']}/lease")
            assert lease.status_code == 200, lease.text
            items = await vendor.get(
                f"/vendor/batches/{batch['id']}/items",
                params={"format": "jsonl", "encoding": "utf-8"},
                headers={"Lease-Token": lease.json()["lease_token"]},
            )
            assert items.status_code == 200, items.text
            lines = [json.loads(line) for line in items.text.splitlines()]
        assert len(lines) == batch["item_count"] > 0
