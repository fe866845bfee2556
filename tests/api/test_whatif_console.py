"""POST /whatif: supervisors of one municipality run the staffing what-if on their own log."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from typer.testing import CliRunner

from app.cli import cli
from app.services import whatif_console
from app.settings import WhatIfSettings
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.test_cli import madoguchi

SMALL = {"target": 0.95, "seed": 7, "source": "profile", "population": 3_000}


async def test_a_supervisor_gets_the_months_and_plots_and_the_same_input_comes_from_cache(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("supervisor")) as supervisor:
        first = await supervisor.post("/whatif", json=SMALL)
        again = await supervisor.post("/whatif", json=SMALL)
        other_seed = await supervisor.post("/whatif", json={**SMALL, "seed": 8})
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    result = first.json()
    assert [m["month"] for m in result["months"]] == list(range(1, 13))
    assert sum(m["received"] for m in result["months"]) <= result["cases"]
    assert all(m["pooled_within_due"] >= 0.95 for m in result["months"])
    for name in ("depth", "staff"):
        assert base64.b64decode(result["plots"][name]).startswith(b"\x89PNG")
    assert (result["seed"], result["population"], result["cached"]) == (7, 3_000, False)
    assert again.json()["cached"] is True
    assert {k: v for k, v in again.json().items() if k != "cached"} == {
        k: v for k, v in result.items() if k != "cached"
    }
    assert other_seed.json()["input_key"] != result["input_key"]


async def test_bad_input_is_refused_field_by_field(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("supervisor")) as supervisor:
        for body, field in (
            ({**SMALL, "target": 1.5}, "target"),
            ({**SMALL, "target": 0}, "target"),
            ({**SMALL, "seed": -1}, "seed"),
            ({**SMALL, "seed": "one"}, "seed"),
            ({**SMALL, "source": "guess"}, "source"),
            ({**SMALL, "population": 10}, "population"),
        ):
            response = await supervisor.post("/whatif", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in response.json()["errors"]] == [field], response.text
        too_big = await supervisor.post("/whatif", json={**SMALL, "population": 5_000_000})
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["code"] == "too_large"


async def test_vendor_employed_staff_and_other_roles_are_refused(
    server: LiveServer, office: Office
) -> None:
    for role in ("operator", "vendor_manager", "vendor", "reviewer", "counter"):
        async with server.client(office.token(role)) as client:
            response = await client.post("/whatif", json=SMALL)
        assert response.status_code == 403, (role, response.text)


async def test_a_second_input_while_one_runs_gets_429_and_the_same_input_waits_for_it(
    server: LiveServer, office: Office
) -> None:
    slow = {**SMALL, "population": 40_000, "seed": 11}
    async with server.client(office.token("supervisor")) as supervisor:
        running = asyncio.create_task(supervisor.post("/whatif", json=slow))
        while not whatif_console._runs.running:  # the run has been handed to the worker
            await asyncio.sleep(0.01)
        same = asyncio.create_task(supervisor.post("/whatif", json=slow))
        refused = await supervisor.post("/whatif", json={**slow, "seed": 12})
        first, second = await running, await same
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert first.status_code == second.status_code == 200
    assert first.json()["months"] == second.json()["months"]


async def post_forms(client: httpx2.AsyncClient, count: int, **overrides: Any) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for i in range(count):
        moment = yesterday - timedelta(hours=i)
        response = await client.post(
            "/applications", json=move_in(received_at=moment.isoformat(), **overrides)
        )
        assert response.status_code in (200, 201), response.text


async def test_the_log_source_reads_this_municipalitys_log_only(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        await post_forms(intake, 31)
    async with server.client(other_office.token("intake")) as intake:
        await post_forms(intake, 45)
    async with server.client(office.token("supervisor")) as supervisor:
        mine = await supervisor.post("/whatif", json={**SMALL, "source": "log"})
    async with server.client(other_office.token("supervisor")) as supervisor:
        theirs = await supervisor.post("/whatif", json={**SMALL, "source": "log"})
    assert mine.status_code == theirs.status_code == 200, mine.text

    def volume(response: httpx2.Response) -> dict[str, Any]:
        return next(
            f
            for f in response.json()["fit"]
            if (f["procedure"], f["item"]) == ("resident.move_in", "volume")
        )

    assert (volume(mine)["source"], volume(mine)["samples"]) == ("fitted", 31)
    assert (volume(theirs)["source"], volume(theirs)["samples"]) == ("fitted", 45)
    assert volume(mine)["spread"] == 0.0  # none came to the counter
    # Too few finished tasks in either log: the steps keep the profile's minutes, and say so.
    steps = [f for f in mine.json()["fit"] if f["item"] != "volume"]
    assert steps and {f["source"] for f in steps} == {"default"}
    assert mine.json()["input_key"] != theirs.json()["input_key"]

    # The command reads the same log, and prints what it fitted and what it kept.
    printed = await asyncio.to_thread(
        madoguchi,
        server.settings.database_url,
        "whatif",
        "--from-log",
        "--municipality",
        "431001",
        "--population",
        "3000",
        "--target",
        "0.9",
    )
    assert printed.returncode == 0, printed.stderr
    assert "| resident.move_in | volume | 推定 (fitted) | 31 |" in printed.stdout
    assert "| resident.move_in | entry | 既定 (default) | 0 |" in printed.stdout
    assert "| 計 (person-months) |" in printed.stdout


def test_the_command_wants_a_municipality_with_from_log() -> None:
    result = CliRunner().invoke(cli, ["whatif", "--from-log"])
    assert result.exit_code == 2
    assert "--municipality" in result.output


async def test_a_run_past_its_time_cap_is_stopped_and_not_cached(clean_db: str) -> None:
    settings = make_settings(clean_db)
    capped = settings.model_copy(update={"whatif": WhatIfSettings(time_cap_s=0.001)})
    async with run_server(capped) as live:
        office = Office(await seed(clean_db))
        async with live.client(office.token("supervisor")) as supervisor:
            first = await supervisor.post("/whatif", json={**SMALL, "seed": 21})
            again = await supervisor.post("/whatif", json={**SMALL, "seed": 21})
    for response in (first, again):
        assert response.status_code == 503, response.text
        assert "cap" in response.json()["detail"]
    assert not whatif_console._runs.running
