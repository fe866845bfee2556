"""The daily estimate report on a seeded day: every ticket records each wait model's estimate at
issue, and the report gives each model's MAE, bias and shares within ±5/±10 minutes.

Category A of the bare demo office is served by counters 1, 2 and 4 and defaults to 420 s. The
day before, three residents took 100, 100 and 400 s (median 100 s, mean 200 s); on the day
counter 4 is on a break, so two of A's three counters call.
"""

import asyncio
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


async def issue(server: LiveServer, office: Office) -> dict[str, Any]:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category("A")}
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def call_and_serve(
    server: LiveServer, office: Office, clock: FakeClock, counter: str, service_s: float = 0
) -> None:
    async with server.client(office.token("counter")) as client:
        ticket = (await client.post(f"/counters/{office.counter(counter)}/call-next")).json()
        assert (await client.post(f"/tickets/{ticket['id']}/start")).status_code == 200
        clock.advance(service_s)
        assert (await client.post(f"/tickets/{ticket['id']}/finish")).status_code == 200


async def test_report_gives_each_model_its_errors_on_a_seeded_day(clean_db: str) -> None:
    clock = FakeClock(office_hours_today() - timedelta(days=1))
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        other = Office(await seed(clean_db, "131211"))
        # The day before: three served in 100, 100 and 400 s.
        for seconds in (100, 100, 400):
            await issue(server, office)
            await call_and_serve(server, office, clock, "2", seconds)
        clock.advance(24 * 3600)
        day = office_hours_today().astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
        async with server.client(office.token("counter")) as counter:
            assert (await counter.post(f"/counters/{office.counter('4')}/pause")).status_code == 200
        # A resident a minute: 10:00, 10:01, 10:02.
        first = await issue(server, office)
        clock.advance(60)
        second = await issue(server, office)
        clock.advance(60)
        third = await issue(server, office)
        # Shown: the lobby replayed on the two counters calling (the mean, 200 s, each): the
        # first two at once, the third when one is free again, after 200 s → 4 min.
        assert [t["estimate_min"] for t in (first, second, third)] == [0, 0, 4]
        # The resident's phone shows the same model's wait (a paused counter does not count).
        async with server.client() as phone:
            public = await phone.get(
                f"/tickets/{third['id']}/public", params={"key": third["public_key"]}
            )
        assert (public.json()["ahead"], public.json()["estimate_min"]) == (2, 4)
        # Called at 10:02, 10:03 and 10:06: waits of 2, 2 and 4 minutes.
        await call_and_serve(server, office, clock, "2")
        clock.advance(60)
        await call_and_serve(server, office, clock, "1")
        clock.advance(180)
        await call_and_serve(server, office, clock, "2")
        async with server.client(office.token("supervisor")) as supervisor:
            answer = await supervisor.get("/lobby-stats/estimates", params={"day": day})
            csv = await supervisor.get(
                "/lobby-stats/estimates", params={"day": day, "office": office.id, "format": "csv"}
            )
            sheet = await supervisor.get(
                "/lobby-stats/estimates", params={"day": day, "format": "xlsx"}
            )
            bad_day = await supervisor.get("/lobby-stats/estimates", params={"day": "2026-02-30"})
            bad_format = await supervisor.get(
                "/lobby-stats/estimates", params={"day": day, "format": "pdf"}
            )
            foreign = await supervisor.get(
                "/lobby-stats/estimates", params={"day": day, "office": other.id}
            )
        async with server.client(other.token("supervisor")) as elsewhere:
            theirs = await elsewhere.get("/lobby-stats/estimates", params={"day": day})
        async with server.client(office.token("counter")) as counter:
            refused = await counter.get("/lobby-stats/estimates", params={"day": day})
        async with server.client(office.token("operator_vendor")) as vendor_staff:
            vendor_refused = await vendor_staff.get("/lobby-stats/estimates", params={"day": day})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [(m["name"], m["in_use"]) for m in report["models"]] == [
        ("lobby_replay", True),
        ("mean_open", False),
        ("median_configured", False),
        ("fixed_default", False),
    ]
    rows = {(r["category"], r["model"]): r for r in report["rows"]}
    figures = (
        "estimates",
        "estimate_mae_s",
        "estimate_bias_s",
        "estimate_within_5min",
        "estimate_within_10min",
    )
    # lobby_replay said 0, 0, 4 min: errors 120, 120, 0 s.
    assert [rows[("A", "lobby_replay")][f] for f in figures] == [3, 80, 80, 1.0, 1.0]
    # mean_open (200 s over the two counters calling) said 0, 2, 4 min: 120, 0, 0 s.
    assert [rows[("A", "mean_open")][f] for f in figures] == [3, 40, 40, 1.0, 1.0]
    # The median (100 s) over three counters said 0, 1, 2 min: 120, 60, 120 s.
    assert [rows[("A", "median_configured")][f] for f in figures] == [3, 100, 100, 1.0, 1.0]
    # The default (420 s) over three said 0, 3, 5 min: 120, −60, −60 s.
    assert [rows[("A", "fixed_default")][f] for f in figures] == [3, 80, 0, 1.0, 1.0]
    assert rows[("*", "mean_open")]["estimate_mae_s"] == 40
    assert rows[("*", "lobby_replay")]["in_use"] is True
    # The day before is another day: only the three of this day count.
    assert {r["estimates"] for r in report["rows"]} == {3}
    hours = {(h["model"], h["hour"]): h for h in report["hours"]}
    assert hours[("mean_open", 10)]["estimate_mae_s"] == 40
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "day,office_id,category,model,in_use,estimates,estimate_mae_s,estimate_bias_s,"
        "estimate_within_5min,estimate_within_10min"
    )
    assert f"{day},{office.id},A,median_configured,false,3,100,100,1.0,1.0" in lines, lines
    assert csv.headers["content-type"].startswith("text/csv")
    with zipfile.ZipFile(io.BytesIO(sheet.content)) as book:
        assert "待ち時間予測" in book.read("xl/workbook.xml").decode()
    # Hostile: an impossible day and an unknown format are refused by field; another
    # municipality's office is not found, and its supervisor sees none of these tickets; a
    # counter and a vendor-employed operator are refused.
    assert bad_day.status_code == 422 and "day" in bad_day.text
    assert bad_format.status_code == 422 and "format" in bad_format.text
    assert foreign.status_code == 404
    assert theirs.status_code == 200 and theirs.json()["rows"] == []
    assert refused.status_code == 403
    assert vendor_refused.status_code == 403  # a vendor-employed operator
    # The same rows from the command line.
    printed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", "stats", "--day", day, "--municipality", "431001"]
        + ["--estimates", "--format", "json"],
        env={**os.environ, "MADOGUCHI_DATABASE_URL": clean_db},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert [json.loads(line) for line in printed.stdout.splitlines()] == report["rows"]
