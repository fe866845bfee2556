"""`madoguchi staff …` and `token create --staff`: people are registered and own tokens."""

import json
import os
import subprocess
import sys

from sqlalchemy import func, select

from app.settings import AuditSettings
from app.storage.db import create_engine
from app.storage.tables import Staff
from tests.support import make_settings, run_server


def madoguchi(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def staff_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(Staff))).scalar_one()
            )
    finally:
        await engine.dispose()


async def login(client: object, staff_id: str, password: str) -> int:
    response = await client.post(
        "/auth/login",
        json={  # type: ignore[attr-defined]
            "municipality": "431001",
            "staff_id": staff_id,
            "password": password,
        },
    )
    return int(response.status_code)


async def test_seed_demo_gives_staff_who_can_sign_in_and_reruns_make_no_duplicates(
    clean_db: str,
) -> None:
    first = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    assert set(first["staff"]) == {
        "operator",
        "operator_2",
        "operator_vendor",
        "operator_vendor_2",
        "reviewer",
        "supervisor",
        "vendor_manager",
    }
    assert first["staff"]["operator_vendor"]["employer"] == "vendor"
    assert first["staff"]["vendor_manager"]["employer"] == "vendor"
    assert first["staff"]["vendor_manager"]["role"] == "vendor_manager"
    assert {
        "tokens",
        "offices",
        "vendor_contracts",
        "municipality",
    } <= first.keys()  # the keys of before
    count = await staff_rows(clean_db)
    again = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    assert await staff_rows(clean_db) == count == 7
    assert again["staff"]["reviewer"]["person_id"] == first["staff"]["reviewer"]["person_id"]
    async with run_server(make_settings(clean_db)) as server, server.client() as client:
        for key in ("operator", "reviewer", "supervisor", "vendor_manager"):
            assert (
                await login(
                    client, again["staff"][key]["staff_id"], again["staff"][key]["password"]
                )
                == 200
            )
        # Each run prints the same passwords: the first run's still work.
        assert again["staff"] == first["staff"]


async def test_staff_create_passwd_deactivate_and_a_linked_token(clean_db: str) -> None:
    madoguchi(clean_db, "seed-demo", "--json")
    password = "a long enough password"
    # The password never appears on the command line: only standard input carries it.
    created = madoguchi(
        clean_db,
        "staff",
        "create",
        "--municipality",
        "431001",
        "--staff-id",
        "C-501",
        "--name",
        "市民 太郎",
        "--role",
        "operator",
        "--employer",
        "city",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert created.returncode == 0, created.stderr
    person_id = created.stdout.strip()
    duplicate = madoguchi(
        clean_db,
        "staff",
        "create",
        "--municipality",
        "431001",
        "--staff-id",
        "C-501",
        "--name",
        "別人",
        "--role",
        "operator",
        "--employer",
        "city",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert duplicate.returncode == 2 and "already registered" in duplicate.stderr
    short = madoguchi(
        clean_db,
        "staff",
        "create",
        "--municipality",
        "431001",
        "--staff-id",
        "C-502",
        "--name",
        "短い",
        "--role",
        "operator",
        "--employer",
        "city",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 2 and "12" in short.stderr
    device = madoguchi(
        clean_db,
        "staff",
        "create",
        "--municipality",
        "431001",
        "--staff-id",
        "C-503",
        "--name",
        "端末",
        "--role",
        "kiosk",
        "--employer",
        "city",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert device.returncode == 2 and "devices and systems" in device.stderr

    token = madoguchi(clean_db, "token", "create", "--municipality", "431001", "--staff", "C-501")
    assert token.returncode == 0, token.stderr
    # The command runs beside a serving process; on SQLite the background log sealer is left off
    # here so that the two processes' writers do not queue behind each other.
    settings = make_settings(clean_db, token_cache_s=0, audit=AuditSettings(seal_every_s=0))
    async with run_server(settings) as server:
        async with server.client(token.stdout.strip()) as by_token:
            me = (await by_token.get("/work/me")).json()
            assert (
                me["person_id"] == person_id
                and me["name"] == "市民 太郎"
                and me["role"] == "operator"
            )
        async with server.client() as client:
            assert await login(client, "C-501", password) == 200
            changed = madoguchi(
                clean_db,
                "staff",
                "passwd",
                "--municipality",
                "431001",
                "--staff-id",
                "C-501",
                "--password-stdin",
                stdin="another long password\n",
            )
            assert changed.returncode == 0, changed.stderr
            assert (
                await client.get("/auth/me")
            ).status_code == 401  # a new password ends the sessions
            assert await login(client, "C-501", password) == 401
            assert await login(client, "C-501", "another long password") == 200
            gone = madoguchi(
                clean_db, "staff", "deactivate", "--municipality", "431001", "--staff-id", "C-501"
            )
            assert gone.returncode == 0, gone.stderr
            assert (await client.get("/work/me")).status_code == 401
            assert await login(client, "C-501", "another long password") == 401
        async with server.client(token.stdout.strip()) as by_token:
            assert (await by_token.get("/work/me")).status_code == 401
