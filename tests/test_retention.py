"""Retention (DOMAIN.md §7 rule 22): `madoguchi retention` purges the personal data of finished
applications whose period has ended, keeps counts and the audit chain, and lists first with
--dry-run."""

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.pool import NullPool

from app.settings import RetentionSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, Task
from tests.api.test_work_queue import (
    blind_answers,
    claim,
    entry_values,
    receive,
    submit,
    token,
    warnings_of,
)
from tests.factories import move_in, my_number, status_report
from tests.support import LiveServer, Office, run_server

# What identifies the people on the forms below: none of it may survive a purge.
PERSONAL = [
    "髙橋",
    "𠮷",
    "タカハシ",
    "佐藤",
    "花子",
    "サトウ",
    "手取本町",
    "博多",
    "月出",
    "096-000-0000",
    "12345678903",
    my_number(),
    my_number("12345678901"),
    my_number("98765432109"),
    "crop://",
]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def madoguchi(server: LiveServer, *args: str) -> Ran:
    """The command in its own process, while the server (in this event loop) keeps running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        env={
            **os.environ,
            "MADOGUCHI_DATABASE_URL": server.settings.database_url,
            "MADOGUCHI_ATTACHMENT_DIR": server.settings.attachment_dir,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def sql(server: LiveServer, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def upload(server: LiveServer, office: Office, content: bytes) -> dict[str, str]:
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/attachments", content=content)
    assert response.status_code == 201, response.text
    return {
        "name": "scan.pdf",
        "sha256": response.json()["sha256"],
        "media_type": "application/pdf",
    }


async def approve_move_in(server: LiveServer, office: Office, body: dict[str, Any]) -> str:
    application_id = await receive(server, office, body)
    keyer, checker = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with (
        server.client(keyer) as a,
        server.client(checker) as b,
        server.client(office.token("reviewer")) as r,
    ):
        entry = await claim(a)
        assert entry is not None
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        verify = await claim(b)
        assert verify is not None
        keyed = blind_answers(verify) | {"members[0].birth_date": "S60.4.1"}
        assert (await submit(b, verify, values=keyed)).status_code == 200
        review = await claim(r)
        assert review is not None
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved", approved.text
    return application_id


async def withdraw(server: LiveServer, office: Office, body: dict[str, Any]) -> str:
    application_id = await receive(server, office, body)
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.post(
            f"/applications/{application_id}/withdraw", json={"reason": "本人から取下げの申出"}
        )
    assert response.status_code == 200, response.text
    return application_id


async def backdate(
    server: LiveServer, application_id: str, received: str, finished: str | None
) -> None:
    """Move an application's dates back in time (UTC), as if it had been filed then."""
    received_at = datetime.fromisoformat(received).replace(tzinfo=UTC)
    finished_at = datetime.fromisoformat(finished).replace(tzinfo=UTC) if finished else received_at
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            row = Application.__table__.c  # type: ignore[attr-defined]
            await connection.execute(
                update(Application.__table__)
                .where(row.id == application_id)
                .values(  # type: ignore[attr-defined]
                    received_at=received_at, updated_at=finished_at
                )
            )
            await connection.execute(
                update(Application.__table__)
                .where(  # type: ignore[attr-defined]
                    row.id == application_id, row.decided_at.is_not(None)
                )
                .values(decided_at=finished_at)
            )
    finally:
        await engine.dispose()


async def rows_of(server: LiveServer, table: Any, *where: Any) -> list[dict[str, Any]]:
    """Rows as the application reads them (JSON columns decoded, whatever the database)."""
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        async with make_sessionmaker(engine)() as session:
            return [
                row.model_dump()
                for row in (await session.scalars(select(table).where(*where))).all()
            ]
    finally:
        await engine.dispose()


def as_text(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False, default=str, sort_keys=True)


async def application_rows(server: LiveServer) -> dict[str, str]:
    return {row["id"]: as_text(row) for row in await rows_of(server, Application)}


async def counts(server: LiveServer) -> list[Any]:
    return await sql(
        server,
        "SELECT municipality_code, procedure, status, channel, count(*) FROM application "
        "GROUP BY municipality_code, procedure, status, channel ORDER BY 1, 2, 3, 4",
    )


async def test_purge_removes_expired_personal_data_and_keeps_counts_and_the_audit_chain(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    shared = await upload(server, office, b"scan shared by two forms")
    private = await upload(server, office, b"scan of one form only")
    # A: a 転入届 approved in January 2019 (住基: 1 year from receipt) -> expired.
    old_move_in = await approve_move_in(server, office, move_in(attachments=[shared, private]))
    # B: a 児童扶養手当 現況届 withdrawn in 令和元年度 -> 5 years from 1 April 2020 -> expired.
    old_report = await withdraw(
        server, office, status_report(applicant={"family_name": "佐藤", "household_ref": "H-2"})
    )
    # D: withdrawn in February 2025 (令和6年度) -> kept until 1 April 2030.
    recent_report = await withdraw(
        server, office, status_report(applicant={"family_name": "佐藤", "household_ref": "H-3"})
    )
    # C: received in 2019 but never finished -> never expires; it lists the shared scan.
    unfinished = await receive(server, office, move_in(attachments=[shared]))
    await backdate(server, old_move_in, "2019-01-10 01:00:00", "2019-01-20 01:00:00")
    await backdate(server, old_report, "2019-08-10 01:00:00", "2019-09-01 01:00:00")
    await backdate(server, recent_report, "2024-08-10 01:00:00", "2025-02-01 01:00:00")
    await backdate(server, unfinished, "2019-01-10 01:00:00", None)
    root = Path(server.settings.attachment_dir) / "431001"
    shared_file, private_file = (root / a["sha256"][:2] / a["sha256"] for a in (shared, private))
    assert shared_file.is_file() and private_file.is_file()

    before, counted = await application_rows(server), await counts(server)
    # The scans below would see the data: it is there before the purge.
    assert "髙橋" in before[old_move_in] and my_number("12345678901") in before[old_report]
    assert "𠮷" in as_text(await rows_of(server, Task, Task.application_id == old_move_in))
    listed = await madoguchi(server, "retention", "--dry-run", "--municipality", "431001")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {(x["id"], x["procedure"], x["expires_on"]) for x in lines} == {
        (old_move_in, "resident.move_in", "2020-01-10"),
        (old_report, "child_rearing.status_report", "2025-04-01"),
    }
    kinds = {x["id"]: set(x["kinds"]) for x in lines}
    assert {"applicant", "fields", "my_numbers", "ocr", "attachments", "task_results"} <= kinds[
        old_move_in
    ]
    assert {"applicant", "fields", "my_numbers"} <= kinds[old_report]
    assert "would purge 2" in listed.stderr
    # The dry run changed nothing.
    assert await application_rows(server) == before
    assert shared_file.is_file() and private_file.is_file()
    # Scoped by municipality: another city's run lists nothing of this one.
    elsewhere = await madoguchi(server, "retention", "--dry-run", "--municipality", "131211")
    assert elsewhere.returncode == 0 and elsewhere.stdout == "", elsewhere.stderr

    purged = await madoguchi(server, "retention", "--municipality", "431001")
    assert purged.returncode == 0, purged.stderr
    assert {json.loads(line)["id"] for line in purged.stdout.splitlines()} == {
        old_move_in,
        old_report,
    }
    assert "purged 2" in purged.stderr and "files deleted 1, kept 1" in purged.stderr

    after = await application_rows(server)
    for application_id in (old_move_in, old_report):
        leftovers = [p for p in PERSONAL if p in after[application_id]]
        assert leftovers == [], (application_id, leftovers)
        tasks = as_text(await rows_of(server, Task, Task.application_id == application_id))
        assert [p for p in PERSONAL if p in tasks] == []
    # What is not expired is untouched; the row of a purged one keeps its ids and status.
    assert after[unfinished] == before[unfinished] and after[recent_report] == before[recent_report]
    assert (
        await sql(
            server, "SELECT status, procedure FROM application WHERE id = :id", id=old_move_in
        )
    ) == [("approved", "resident.move_in")]
    assert await counts(server) == counted
    # The private scan is gone; the one the unfinished form still lists stays.
    assert not private_file.exists() and shared_file.is_file()
    # One event row per purge says what kinds went, never the data.
    events = await sql(
        server, "SELECT entity_id, data FROM event_log WHERE action = 'retention.purge'"
    )
    assert {e.entity_id for e in events} == {old_move_in, old_report}
    assert [p for p in PERSONAL if p in as_text([e.data for e in events])] == []
    verified = await madoguchi(server, "audit", "verify", "--seal")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Staff still see the purged application (ids, status, dates); its private scan is gone.
    async with server.client(office.token("supervisor")) as supervisor:
        shown = await supervisor.get(f"/applications/{old_move_in}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["status"] == "approved" and "髙橋" not in shown.text
        assert (await supervisor.get(f"/attachments/{private['sha256']}")).status_code == 404
        assert (await supervisor.get(f"/attachments/{shared['sha256']}")).status_code == 200
    # Purged once: a second run finds nothing more.
    again = await madoguchi(server, "retention", "--municipality", "431001")
    assert again.returncode == 0 and again.stdout == "", again.stderr


async def test_retention_of_an_unknown_municipality_is_an_error(
    server: LiveServer, office: Office
) -> None:
    result = await madoguchi(server, "retention", "--dry-run", "--municipality", "999999")
    assert result.returncode == 2
    assert "no such municipality" in result.stderr


async def test_the_server_purges_on_its_schedule_only_when_turned_on(
    server: LiveServer, office: Office
) -> None:
    expired = await withdraw(server, office, status_report())
    await backdate(server, expired, "2019-08-10 01:00:00", "2019-09-01 01:00:00")
    purge_events = "SELECT entity_id FROM event_log WHERE action = 'retention.purge'"
    await asyncio.sleep(1.5)  # the running server (job off by default) leaves it alone
    assert await sql(server, purge_events) == []
    assert "佐藤" in (await application_rows(server))[expired]
    settings = server.settings.model_copy(update={"retention": RetentionSettings(every_s=3600)})
    async with run_server(settings):
        for _ in range(300):  # up to 30 s on a loaded machine
            if await sql(server, purge_events):
                break
            await asyncio.sleep(0.1)
    assert [row.entity_id for row in await sql(server, purge_events)] == [expired]
    assert [p for p in PERSONAL if p in (await application_rows(server))[expired]] == []
