"""The `madoguchi` command as scripts and integrators use it."""

import json
import os
import subprocess
import sys

import httpx2

from tests.support import Office, make_settings, run_server


def madoguchi(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_seed_demo_json_gives_independent_municipalities(clean_db: str) -> None:
    first = madoguchi(clean_db, "seed-demo", "--json")
    second = madoguchi(clean_db, "seed-demo", "--municipality", "131211", "--json")
    assert first.returncode == 0, first.stderr
    kumamoto, adachi = json.loads(first.stdout), json.loads(second.stdout)
    assert kumamoto["municipality"] == "431001" and adachi["municipality"] == "131211"
    office = kumamoto["offices"][0]
    assert {"id", "counters", "categories"} <= office.keys()
    assert all({"id", "label"} <= c.keys() for c in office["counters"])
    assert all({"id", "prefix"} <= c.keys() for c in office["categories"])
    assert kumamoto["vendor_contracts"] and "id" in kumamoto["vendor_contracts"][0]
    roles = {
        "kiosk",
        "display",
        "counter",
        "operator",
        "reviewer",
        "supervisor",
        "vendor",
        "intake",
        "core",
        "admin",
        "operator_vendor",
        "vendor_manager",
    }
    assert set(kumamoto["tokens"]) == roles
    async with (
        run_server(make_settings(clean_db)) as server,
        server.client(kumamoto["tokens"]["display"]) as client,
    ):
        assert (await client.get(f"/offices/{office['id']}/lobby")).status_code == 200
        assert (await client.get(f"/offices/{adachi['offices'][0]['id']}/lobby")).status_code == 404
    # Harmless the second time: the same office, the same tokens.
    again = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    assert again["offices"][0]["id"] == office["id"]
    assert again["tokens"] == kumamoto["tokens"]
    assert adachi["tokens"]["kiosk"] != kumamoto["tokens"]["kiosk"]


async def test_token_create_prints_the_token_alone(clean_db: str) -> None:
    seeded = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    office = Office(seeded)
    result = madoguchi(
        clean_db,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "display",
        "--office",
        office.id,
        "--name",
        "2F lobby TV",
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout
    assert token.endswith("\n") and token.count("\n") == 1 and token.startswith("mdg_")
    async with (
        run_server(make_settings(clean_db)) as server,
        server.client(token.strip()) as client,
    ):
        assert (await client.get(f"/offices/{office.id}/lobby")).status_code == 200


def test_vendor_staff_cannot_get_a_reviewer_token(clean_db: str) -> None:
    madoguchi(clean_db, "seed-demo", "--json")
    result = madoguchi(
        clean_db,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "reviewer",
        "--employer",
        "vendor",
        "--name",
        "x",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "vendor" in result.stderr


def test_invalid_municipality_code_is_refused(clean_db: str) -> None:
    result = madoguchi(
        clean_db, "admin", "municipality", "--code", "431002", "--name-ja", "x", "--name-en", "x"
    )
    assert result.returncode == 2
    assert "check digit" in result.stderr


def test_healthz_of_a_served_process(clean_db: str) -> None:
    from tests.support_process import server_process

    with server_process(clean_db) as url:
        assert httpx2.get(url + "/healthz").json() == {"status": "ok"}
        ready = httpx2.get(url + "/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
