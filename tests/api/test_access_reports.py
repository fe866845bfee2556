"""DOMAIN.md §7.12 reports through HTTP and the CLI: night/holiday access, failed sign-ins,
bulk views and exports; supervisors only, CSV safe for spreadsheets, the reading logged."""

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest

from app.settings import AccessReportSettings
from tests.api.test_change_notice_prompts import approve, move_within
from tests.api.test_work_queue import receive
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock
from tests.test_cli import madoguchi

JST = timezone(timedelta(hours=9))
SATURDAY_NIGHT = datetime(2026, 11, 21, 22, 0, tzinfo=JST)
THURSDAY_MORNING = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
PERIOD = {"from": "2026-11-21T00:00:00+09:00", "to": "2026-11-27T00:00:00+09:00"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SATURDAY_NIGHT)


@pytest.fixture
async def live(clean_db: str, clock: FakeClock) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        clean_db,
        access_reports=AccessReportSettings(
            opens_at=time(8, 30), closes_at=time(17, 15), bulk_records=3, bulk_window_min=10
        ),
    )
    async with run_server(settings, clock=clock) as server:
        yield server


@pytest.fixture
async def city(live: LiveServer) -> Office:
    return Office(await seed(live.settings.database_url, "431001"))


async def view_all(server: LiveServer, office: Office, ids: list[str]) -> None:
    async with server.client(office.token("operator")) as operator:
        for application_id in ids:
            assert (await operator.get(f"/applications/{application_id}")).status_code == 200


async def report(server: LiveServer, office: Office, kind: str, **params: Any) -> Any:
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.get(
            "/access-reports", params={"kind": kind, **PERIOD, **params}
        )
    assert response.status_code == 200, response.text
    return response


async def test_night_and_holiday_views_are_reported_with_person_terminal_and_target(
    live: LiveServer, city: Office, clock: FakeClock
) -> None:
    [night_view] = [await receive(live, city, move_in())]
    await view_all(live, city, [night_view])
    clock.advance((THURSDAY_MORNING - SATURDAY_NIGHT).total_seconds())
    await view_all(live, city, [night_view])
    rows = (await report(live, city, "night")).json()["rows"]
    assert [(r["at"], r["function"], r["target"]) for r in rows] == [
        ("2026-11-21T13:00:00Z", "view", f"application:{night_view}")
    ]
    assert rows[0]["role"] == "operator" and rows[0]["person_name"]
    assert rows[0]["terminal"]  # the token the operator came with


async def test_bulk_views_and_every_export_are_reported(
    live: LiveServer, city: Office, clock: FakeClock
) -> None:
    approved = await approve(live, city, move_within("髙橋 𠮷子", None))
    ids = [await receive(live, city, move_in()) for _ in range(4)]
    await view_all(live, city, ids[:3])  # three records: the limit, not more
    assert [
        r for r in (await report(live, city, "bulk")).json()["rows"] if r["kind"] == "bulk_view"
    ] == []
    clock.advance(60)
    await view_all(live, city, ids[3:])  # the fourth within ten minutes
    async with live.client(city.token("core")) as core:
        assert (await core.get("/core/approved")).status_code == 200
    rows = (await report(live, city, "bulk")).json()["rows"]
    [burst] = [r for r in rows if r["kind"] == "bulk_view"]
    assert (burst["records"], burst["role"], burst["target"]) == (4, "operator", "4 records")
    assert burst["until"] == "2026-11-21T13:01:00Z"
    [export] = [r for r in rows if r["kind"] == "export"]
    assert (export["role"], export["function"], export["target"], export["records"]) == (
        "core",
        "export",
        approved,
        1,
    )
    assert export["terminal"] == export["person_id"]  # a system token is its own terminal


async def test_failed_sign_ins_are_reported_and_the_csv_is_safe_for_spreadsheets(
    live: LiveServer, city: Office
) -> None:
    async with live.client() as anyone:
        for staff_id in ('=HYPERLINK("http://x")', "K-0001"):
            await anyone.post(
                "/auth/login",
                json={
                    "municipality": "431001",
                    "staff_id": staff_id,
                    "password": "wrong-password!",
                },
            )
    rows = (await report(live, city, "failed_sign_in")).json()["rows"]
    assert [(r["target"], r["function"]) for r in rows] == [
        ('=HYPERLINK("http://x")', "sign_in"),
        ("K-0001", "sign_in"),
    ]
    response = await report(live, city, "failed_sign_in", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["target"] for r in table] == ['\'=HYPERLINK("http://x")', "K-0001"]
    assert table[0]["reason"] == "unknown_staff"


async def test_supervisors_only_and_reading_a_report_is_logged(
    live: LiveServer, city: Office
) -> None:
    for role in ("operator", "reviewer", "operator_vendor", "vendor", "vendor_manager", "admin"):
        async with live.client(city.token(role)) as caller:
            refused = await caller.get("/access-reports", params={"kind": "night", **PERIOD})
        assert refused.status_code == 403, role
    await report(live, city, "night")
    async with live.client(city.token("supervisor")) as supervisor:
        log = (await supervisor.get("/access-log")).json()["items"]
        backwards = await supervisor.get(
            "/access-reports", params={"kind": "bulk", "from": PERIOD["to"], "to": PERIOD["from"]}
        )
        naive = await supervisor.get(
            "/access-reports",
            params={"kind": "bulk", "from": "2026-11-21T00:00:00", "to": PERIOD["to"]},
        )
    assert [(e["action"], e["entity"], e["entity_id"]) for e in log] == [
        ("report", "access_report", "night")
    ]
    assert log[0]["detail"]["from"] == "2026-11-21T00:00:00+09:00"
    assert backwards.status_code == 422 and naive.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "to"


async def test_the_cli_prints_the_same_report(live: LiveServer, city: Office) -> None:
    application_id = await receive(live, city, move_in())
    await view_all(live, city, [application_id])
    result = madoguchi(
        live.settings.database_url,
        "access-report",
        "night",
        "--municipality",
        "431001",
        "--from",
        "2026-11-21",
        "--to",
        "2026-11-21",
    )
    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["target"], row["function"]) == (f"application:{application_id}", "view")
