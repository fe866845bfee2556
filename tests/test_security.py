"""Tokens, limits, and personal data kept out of logs."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from sqlalchemy import select, text, update
from websockets.asyncio.client import connect

from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import ApiToken, Application
from app.storage.tenancy import hash_token
from tests.factories import move_in, my_number, status_report
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_process import server_process


async def test_tokens_are_stored_hashed_and_never_in_clear(
    server: LiveServer, office: Office
) -> None:
    engine = create_engine(server.settings.database_url)
    async with engine.connect() as connection:
        dump = ""
        for table in ("api_token", "event_log", "idempotency_record"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            dump += json.dumps([[str(v) for v in row] for row in rows], ensure_ascii=False)
    await engine.dispose()
    for secret in office.data["tokens"].values():
        assert secret not in dump
    assert len(office.data["tokens"]) == 12  # one per role, and the vendor's operator


async def test_expired_and_revoked_tokens_are_refused(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("admin")) as admin:
        soon = datetime.now(UTC) + timedelta(seconds=2)
        created = (
            await admin.post(
                "/admin/tokens",
                json={
                    "role": "display",
                    "name": "TV",
                    "office_id": office.id,
                    "expires_at": soon.isoformat(),
                },
            )
        ).json()
        revoked = (
            await admin.post(
                "/admin/tokens", json={"role": "display", "name": "old TV", "office_id": office.id}
            )
        ).json()
        async with server.client(revoked["token"]) as display:  # used, so its process knows it
            assert (await display.get(f"/offices/{office.id}/lobby")).status_code == 200
        assert (await admin.delete(f"/admin/tokens/{revoked['id']}")).status_code == 204
    async with server.client(created["token"]) as display:
        assert (await display.get(f"/offices/{office.id}/lobby")).status_code == 200
    await asyncio.sleep(
        (soon - datetime.now(UTC)).total_seconds() + 0.1
    )  # expiry holds for a known token
    for token in (created["token"], revoked["token"], "mdg_" + "x" * 43, "garbage"):
        async with server.client(token) as display:
            response = await display.get(f"/offices/{office.id}/lobby")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_kiosk_and_public_status_are_rate_limited(clean_db: str) -> None:
    # Refill so slow that a loaded machine cannot earn a token back during the test.
    async with run_server(
        make_settings(
            clean_db, kiosk_burst=3, public_burst=2, kiosk_rate_per_s=0.01, public_rate_per_s=0.01
        )
    ) as server:
        office = Office(await seed(clean_db))
        async with server.client(office.token("kiosk")) as kiosk:
            answers = [
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
                for _ in range(4)
            ]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert answers[3].json()["code"] == "rate_limited"
        ticket = answers[0].json()
        async with server.client() as phone:
            polls = [
                await phone.get(
                    f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
                )
                for _ in range(3)
            ]
        assert [p.status_code for p in polls] == [200, 200, 429]


async def test_bad_bodies_get_clear_4xx_and_change_nothing(clean_db: str) -> None:
    async with run_server(make_settings(clean_db, max_body_bytes=64 * 1024)) as server:
        office = Office(await seed(clean_db))
        async with server.client(office.token("intake")) as intake:
            huge = await intake.post(
                "/applications",
                content=b"{" + b" " * 70_000 + b"}",
                headers={"content-type": "application/json"},
            )
            assert huge.status_code == 413 and huge.json()["code"] == "too_large"
            deep = await intake.post(
                "/applications",
                content=b"[" * 20_000 + b"]" * 20_000,
                headers={"content-type": "application/json"},
            )
            assert 400 <= deep.status_code < 500
            bad_utf8 = await intake.post(
                "/applications",
                content=b'{"procedure": "\xff\xfe"}',
                headers={"content-type": "application/json"},
            )
            assert 400 <= bad_utf8.status_code < 500
            wrong_type = await intake.post(
                "/applications",
                content=json.dumps(move_in()).encode(),
                headers={"content-type": "text/plain"},
            )
            assert 400 <= wrong_type.status_code < 500
            for response in (huge, deep, bad_utf8, wrong_type):
                assert response.headers["content-type"] == "application/problem+json"
            assert (await intake.post("/applications", json=status_report())).status_code == 201
        engine = create_engine(clean_db)
        async with make_sessionmaker(engine)() as session:
            assert len((await session.execute(select(Application))).all()) == 1
        await engine.dispose()


async def test_logs_of_a_full_flow_carry_no_my_number_name_or_secret(
    clean_db: str, tmp_path: Path
) -> None:
    office = Office(await seed(clean_db))
    log = tmp_path / "server.log"
    with server_process(clean_db, log_path=log) as base:
        api = base + "/api/v1"
        auth = lambda role: {"Authorization": f"Bearer {office.token(role)}"}  # noqa: E731
        async with httpx2.AsyncClient(base_url=api) as client:
            ticket = (
                await client.post(
                    f"/offices/{office.id}/tickets",
                    json={"category": office.category("A")},
                    headers=auth("kiosk"),
                )
            ).json()
            await client.get(
                f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
            )
            filed = (
                await client.post("/applications", json=move_in(), headers=auth("intake"))
            ).json()
            bad = move_in(received_at="yesterday")
            assert (
                await client.post("/applications", json=bad, headers=auth("intake"))
            ).status_code == 422
            lines = (
                json.dumps(status_report("L1"), ensure_ascii=False)
                + "\n{oops "
                + my_number()
                + "\n"
            )
            await client.post("/applications/bulk", content=lines.encode(), headers=auth("intake"))
            await client.get(
                f"/applications/{filed['id']}",
                params={"reveal_my_number": "true"},
                headers=auth("operator"),
            )
            task = (await client.post("/work/claim", json={}, headers=auth("operator"))).json()
            await client.post(
                f"/work/{task['id']}/submit",
                json={
                    "lease_token": task["lease_token"],
                    "values": {"members": [{"my_number": "123412341234", "name": "髙橋 𠮷子"}]},
                },
                headers=auth("operator"),
            )
        async with connect(
            base.replace("http", "ws")
            + f"/api/v1/ws/offices/{office.id}/lobby?token={office.token('display')}"
        ) as ws:
            await ws.recv()
    written = log.read_text(encoding="utf-8", errors="replace")
    assert "/api/v1/applications" in written  # the access log was captured
    for secret in [
        my_number(),
        my_number("12345678901"),
        "123412341234",
        "髙橋",
        "𠮷子",
        "佐藤",
        ticket["public_key"],
        *office.data["tokens"].values(),
    ]:
        assert secret not in written, f"{secret[:6]}… leaked into the log"


async def test_a_token_revoked_by_another_process_is_refused_within_the_cache_time(
    clean_db: str,
) -> None:
    async with run_server(make_settings(clean_db, token_cache_s=0.5)) as server:
        office = Office(await seed(clean_db))
        async with server.client(office.token("display")) as display:
            assert (
                await display.get(f"/offices/{office.id}/lobby")
            ).status_code == 200  # now known here
            engine = create_engine(clean_db)
            async with (
                engine.begin() as connection
            ):  # as `madoguchi token revoke` does, from outside
                await connection.execute(
                    update(ApiToken)
                    .where(ApiToken.token_hash == hash_token(office.token("display")))
                    .values(revoked_at=datetime.now(UTC))
                )
            await engine.dispose()
            revoked_at = asyncio.get_running_loop().time()
            while (status := (await display.get(f"/offices/{office.id}/lobby")).status_code) == 200:
                assert asyncio.get_running_loop().time() - revoked_at < 2.0, (
                    "a revoked token still works"
                )
                await asyncio.sleep(0.05)
            assert status == 401
