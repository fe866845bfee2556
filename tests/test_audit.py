"""Tamper-evident event and access logs: sealing, verification, and tampering being caught."""

import asyncio
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from app.domain.audit import (
    CHAINED_COLUMNS,
    GENESIS_HASH,
    BreakKind,
    LogName,
    canonical_json,
    entry_hash,
)
from app.domain.clock import SystemClock
from app.domain.roles import Principal, Role
from app.jobs import JobContext, JobRunner, audit_sealing
from app.services import audit
from app.services.access import record_access
from app.services.uow import UnitOfWork
from app.settings import AuditSettings, Settings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import AccessLog, EventLog
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server, seed

KUMAMOTO, ADACHI = "431001", "131211"
TABLE = {LogName.EVENT: "event_log", LogName.ACCESS: "access_log"}
Reports = dict[tuple[LogName, str], audit.ChainReport]
# The keys the services sign with under the test settings (no key configured: the development key).
KEYS = AuditSettings().keys


@dataclass
class Database:
    url: str
    maker: async_sessionmaker[AsyncSession]

    async def seal(self, **kwargs: Any) -> dict[tuple[LogName, str], int]:
        return await audit.seal(self.maker, SystemClock(), keys=KEYS, **kwargs)

    async def reports(self, chunk_rows: int = 3, **kwargs: Any) -> Reports:
        # Small pages, so every check also crosses page boundaries.
        return {
            (r.log, r.municipality_code): r
            async for r in audit.verify(self.maker, chunk_rows=chunk_rows, keys=KEYS, **kwargs)
        }

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.maker() as session:
            result = await session.execute(text(statement), params)
            rows = list(result.all()) if result.returns_rows else []
            await session.commit()
        return rows

    async def chain(self, log: LogName, code: str) -> list[Any]:
        """(id, chain_seq, chain_hash) of a chain's sealed rows, in chain order."""
        return await self.sql(
            f"SELECT id, chain_seq, chain_hash FROM {TABLE[log]} "
            "WHERE municipality_code = :code AND chain_seq IS NOT NULL ORDER BY chain_seq",
            code=code,
        )

    async def write(self, code: str, *, events: int = 0, reads: int = 0) -> None:
        """Event and access log rows the way the services write them."""
        async with self.maker() as session:
            uow = UnitOfWork(session, clock=SystemClock(), settings=Settings(database_url=self.url))
            reviewer = Principal(
                token_id="tok-reviewer", municipality_code=code, role=Role.REVIEWER, name="審査"
            )
            uow.principal = reviewer
            for i in range(events):
                uow.log(
                    entity="application",
                    entity_id=f"app-{i}",
                    action="approve",
                    municipality_code=code,
                    from_status="review",
                    to_status="approved",
                    data={"理由": "確認済み", "n": i},
                )
            for i in range(reads):
                record_access(
                    uow,
                    reviewer,
                    action="view",
                    entity="application",
                    entity_id=f"app-{i}",
                    my_number_shown=i % 2 == 0,
                    detail={"fields": ["氏名", "住所"]},
                )
            await uow.commit()


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[Database]:
    engine = create_engine(clean_db, poolclass=NullPool)
    yield Database(clean_db, make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
async def two_cities(db: Database) -> Database:
    """熊本市 and 足立区, each with its demo setup plus approvals and reads, all sealed."""
    for code in (KUMAMOTO, ADACHI):
        await seed(db.url, code)
        await db.write(code, events=6, reads=7)
    await db.seal()
    reports = await db.reports()
    assert all(r.broken is None and r.unsealed == 0 and r.entries > 6 for r in reports.values()), (
        reports
    )
    return db


def assert_only_broken(reports: Reports, log: LogName, code: str) -> audit.ChainReport:
    """The named chain is broken; every other chain of every municipality is intact."""
    assert set(reports) == {(lg, c) for lg in LogName for c in (KUMAMOTO, ADACHI)}
    for key, report in reports.items():
        if key != (log, code):
            assert report.broken is None, (key, report.broken)
    report = reports[(log, code)]
    assert report.broken is not None
    return report


def madoguchi(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---- the canonical form, as documented -------------------------------------------------------


def test_canonical_form_is_sorted_compact_utf8_json_with_utc_datetimes() -> None:
    row = {
        "id": 7,
        "municipality_code": KUMAMOTO,
        "chain_seq": 3,
        "at": datetime(2026, 11, 27, 9, 30, 0, 120000, tzinfo=timezone(timedelta(hours=9))),
        "actor_id": "tok",
        "actor_role": "reviewer",
        "entity": "application",
        "entity_id": "a1",
        "action": "approve",
        "from_status": "review",
        "to_status": "approved",
        "data": {"z": [1, 2.5], "理由": "髙橋 𠮷子", "a": None},
        "chain_hash": "ignored",
        "not_chained": "ignored",
    }
    canonical = canonical_json(LogName.EVENT, row)
    assert (
        canonical
        == (
            '{"action":"approve","actor_id":"tok","actor_role":"reviewer","at":"2026-11-27T00:30:00.120000Z",'
            '"chain_seq":3,"data":{"a":null,"z":[1,2.5],"理由":"髙橋 𠮷子"},"entity":"application",'
            '"entity_id":"a1","from_status":"review","id":7,"log":"event","municipality_code":"431001",'
            '"to_status":"approved"}'
        ).encode()
    )
    assert entry_hash(GENESIS_HASH, canonical) == hashlib.sha256(b"0" * 64 + canonical).hexdigest()
    # No normalisation: a compatibility ideograph (神 U+FA19) stays itself, not its twin U+795E.
    kami = canonical_json(LogName.EVENT, {**row, "data": {"理由": "\ufa19"}})
    assert "\ufa19".encode() in kami and "\u795e".encode() not in kami


@pytest.mark.parametrize(("log", "model"), [(LogName.EVENT, EventLog), (LogName.ACCESS, AccessLog)])
def test_every_log_column_is_chained(log: LogName, model: Any) -> None:
    """A new log column must be added to the chain on purpose, or it would go unprotected."""
    # The MAC and its key id are checked on their own (they cover the chained content).
    assert set(model.__table__.c.keys()) - {"chain_hash", "mac", "mac_key"} == set(
        CHAINED_COLUMNS[log]
    )


# ---- sealing ---------------------------------------------------------------------------------


async def test_a_full_flow_is_chained_and_verifies(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        assert (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).status_code == 201
    async with server.client(office.token("counter")) as counter:
        assert (await counter.post(f"/counters/{office.counter('1')}/call-next")).status_code == 200
    async with server.client(office.token("intake")) as intake:
        created = await intake.post("/applications", json=move_in())
        assert created.status_code == 201, created.text
    async with server.client(office.token("operator")) as operator:
        task = (await operator.post("/work/claim", json={})).json()
        values = dict(task["form"]["values"]) | {"new_address": "熊本市中央区手取本町1-1"}
        submitted = await operator.post(
            f"/work/{task['id']}/submit",
            json={"lease_token": task["lease_token"], "values": values},
        )
        assert submitted.status_code == 200, submitted.text
    async with server.client(office.token("reviewer")) as reviewer:
        assert (
            await reviewer.get(
                f"/applications/{created.json()['id']}", params={"reveal_my_number": "true"}
            )
        ).status_code == 200
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    db = Database(server.settings.database_url, make_sessionmaker(engine))
    try:
        await db.seal()
        actions = {
            log: {row[0] for row in await db.sql(f"SELECT action FROM {TABLE[log]}")}
            for log in LogName
        }
        assert {"issue", "call", "receive", "claim", "entry.keyed"} <= actions[LogName.EVENT], (
            actions
        )
        assert "view" in actions[LogName.ACCESS]
        assert await db.sql("SELECT id FROM event_log WHERE chain_seq IS NULL") == []
        assert await db.sql("SELECT id FROM access_log WHERE chain_seq IS NULL") == []
        reports = await db.reports()
        for log in LogName:
            chain = await db.chain(log, KUMAMOTO)
            assert [row.chain_seq for row in chain] == list(range(1, len(chain) + 1))
            report = reports[(log, KUMAMOTO)]
            assert report.broken is None and report.unsealed == 0
            assert report.entries == len(chain) and report.head is not None
            assert report.head.last_hash == chain[-1].chain_hash
        # Without any change, sealing again does nothing.
        assert sum((await db.seal()).values()) == 0
    finally:
        await engine.dispose()


async def test_rows_committed_after_a_seal_are_sealed_by_the_next(two_cities: Database) -> None:
    db = two_cities
    before = await db.chain(LogName.ACCESS, KUMAMOTO)
    await db.write(KUMAMOTO, reads=3)
    reports = await db.reports()
    assert reports[(LogName.ACCESS, KUMAMOTO)].unsealed == 3
    assert reports[(LogName.ACCESS, KUMAMOTO)].broken is None
    assert await db.seal() == {(LogName.ACCESS, KUMAMOTO): 3}
    after = await db.chain(LogName.ACCESS, KUMAMOTO)
    assert after[: len(before)] == before  # nothing sealed is ever renumbered
    assert [row.chain_seq for row in after] == list(range(1, len(before) + 4))
    report = (await db.reports())[(LogName.ACCESS, KUMAMOTO)]
    assert report.broken is None and report.unsealed == 0 and report.entries == len(before) + 3


async def test_a_row_committed_late_with_a_smaller_id_is_chained_after(
    two_cities: Database,
) -> None:
    """Order is the chain_seq, not the id: a late commit is never skipped."""
    db = two_cities
    top = (await db.sql("SELECT max(id) FROM event_log"))[0][0]
    row = {
        "municipality_code": KUMAMOTO,
        "at": datetime.now(UTC),
        "entity": "ticket",
        "entity_id": "t1",
        "action": "call",
        "data": {"counter": "1"},
    }
    KEYS.sign(LogName.EVENT, row)  # as the service writes it
    async with db.maker() as session:
        await session.execute(insert(EventLog.__table__).values(id=top + 10, **row))
        await session.commit()
    await db.seal()
    async with (
        db.maker() as session
    ):  # as a transaction that took its id earlier but committed later would
        await session.execute(insert(EventLog.__table__).values(id=top + 5, **row))
        await session.commit()
    assert await db.seal() == {(LogName.EVENT, KUMAMOTO): 1}
    chain = await db.chain(LogName.EVENT, KUMAMOTO)
    assert [r.id for r in chain[-2:]] == [top + 10, top + 5]
    assert [r.chain_seq for r in chain] == list(range(1, len(chain) + 1))
    assert (await db.reports())[(LogName.EVENT, KUMAMOTO)].broken is None


@pytest.mark.postgres
async def test_an_open_transaction_older_than_a_seal_is_sealed_once_it_commits(
    two_cities: Database,
) -> None:
    db = two_cities
    engine = create_engine(db.url, poolclass=NullPool)
    slow_maker = make_sessionmaker(engine)
    try:
        async with slow_maker() as slow:
            uow = UnitOfWork(slow, clock=SystemClock(), settings=Settings(database_url=db.url))
            uow.log(entity="ticket", entity_id="slow", action="call", municipality_code=KUMAMOTO)
            await uow.write_logs()  # takes its id now, commits after the others
            await db.write(KUMAMOTO, events=2)
            assert await db.seal() == {(LogName.EVENT, KUMAMOTO): 2}
            await uow.commit()
        assert await db.seal() == {(LogName.EVENT, KUMAMOTO): 1}
    finally:
        await engine.dispose()
    chain = await db.chain(LogName.EVENT, KUMAMOTO)
    slow_id = (await db.sql("SELECT id FROM event_log WHERE entity_id = 'slow'"))[0][0]
    assert chain[-1].id == slow_id and all(slow_id < row.id for row in chain[-3:-1])
    assert (await db.reports())[(LogName.EVENT, KUMAMOTO)].broken is None


async def test_two_sealer_processes_at_once_build_one_contiguous_chain(
    two_cities: Database,
) -> None:
    db = two_cities
    await db.write(KUMAMOTO, events=300, reads=300)
    await db.write(ADACHI, events=150)
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": db.url, "MADOGUCHI_AUDIT__BATCH_ROWS": "20"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "audit", "seal"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.to_thread(p.communicate, timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    sealed: dict[str, int] = {}
    for stdout, _ in outputs:
        for line in stdout.splitlines():  # "event 431001: sealed 140 (封印 140 件)"
            chain, count = line.split(": sealed ")
            sealed[chain] = sealed.get(chain, 0) + int(count.split()[0])
    assert sealed == {f"event {KUMAMOTO}": 300, f"access {KUMAMOTO}": 300, f"event {ADACHI}": 150}
    for log in LogName:
        for code in (KUMAMOTO, ADACHI):
            chain = await db.chain(log, code)
            assert [row.chain_seq for row in chain] == list(range(1, len(chain) + 1))
    reports = await db.reports(chunk_rows=1000)
    assert all(r.broken is None and r.unsealed == 0 for r in reports.values())


async def test_the_running_server_seals_by_itself(clean_db: str) -> None:
    settings = make_settings(clean_db, audit=AuditSettings(seal_every_s=0.2))
    async with run_server(settings) as server:
        office = Office(await seed(clean_db))
        async with server.client(office.token("kiosk")) as kiosk:
            assert (
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
            ).status_code == 201
        engine = create_engine(clean_db, poolclass=NullPool)
        db = Database(clean_db, make_sessionmaker(engine))
        try:
            for _ in range(100):
                unsealed = await db.sql("SELECT count(*) FROM event_log WHERE chain_seq IS NULL")
                if unsealed[0][0] == 0:
                    break
                await asyncio.sleep(0.1)
            chain = await db.chain(LogName.EVENT, KUMAMOTO)
            assert unsealed[0][0] == 0 and "issue" in {
                r[0]
                for r in await db.sql("SELECT action FROM event_log WHERE chain_seq IS NOT NULL")
            }
            report = (await db.reports())[(LogName.EVENT, KUMAMOTO)]
            assert report.broken is None and report.entries == len(chain) > 0
        finally:
            await engine.dispose()


class FlakyDatabase:
    """A sessionmaker whose first few sessions fail as a restarting database does."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], failures: int) -> None:
        self.maker, self.failures = maker, failures

    def __call__(self) -> AsyncSession:
        if self.failures:
            self.failures -= 1
            raise OperationalError(
                "SELECT 1", {}, ConnectionRefusedError("the database system is starting up")
            )
        return self.maker()


async def test_the_sealing_job_survives_database_errors_and_stops_cleanly(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(db.url, KUMAMOTO)
    flaky = FlakyDatabase(db.maker, failures=3)
    settings = make_settings(db.url, audit=AuditSettings(seal_every_s=0.02))
    context = JobContext(flaky, SystemClock(), settings)  # type: ignore[arg-type]
    runner = JobRunner([audit_sealing.JOB], context)
    with caplog.at_level(logging.INFO, logger="app.jobs.core"):
        runner.start()
        for _ in range(200):
            if (await db.sql("SELECT count(*) FROM event_log WHERE chain_seq IS NULL"))[0][0] == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(runner.stop(), 5)
    assert flaky.failures == 0 and runner.stats["audit-sealing"].failures == 3
    assert (await db.reports())[(LogName.EVENT, KUMAMOTO)].entries > 0
    records = [r for r in caplog.records if r.name == "app.jobs.core"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "job audit-sealing failed" in warnings[0].getMessage()
    assert any("works again after 3 failed attempts" in r.getMessage() for r in records)


# ---- tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "column", "value"),
    [
        (LogName.EVENT, "action", "reject"),
        (LogName.EVENT, "to_status", "rejected"),
        (LogName.EVENT, "at", datetime(2026, 1, 1, tzinfo=UTC)),
        (LogName.EVENT, "data", '{"理由": "確認済み", "n": 99}'),
        (LogName.ACCESS, "my_number_shown", False),
        (LogName.ACCESS, "actor_id", "tok-someone-else"),
    ],
)
async def test_a_changed_field_names_exactly_that_entry(
    two_cities: Database, log: LogName, column: str, value: Any
) -> None:
    db = two_cities
    target = (await db.chain(log, ADACHI))[4]
    if column == "my_number_shown":
        value = not (
            await db.sql(f"SELECT my_number_shown FROM access_log WHERE id = {target.id}")
        )[0][0]
    if column == "at":
        async with db.maker() as session:  # through the column type, as the service stores it
            table = EventLog.__table__
            await session.execute(table.update().where(table.c.id == target.id).values(at=value))
            await session.commit()
    else:
        await db.sql(
            f"UPDATE {TABLE[log]} SET {column} = :value WHERE id = :id", value=value, id=target.id
        )
    report = assert_only_broken(await db.reports(), log, ADACHI)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.chain_seq, report.broken.row_id) == (
        BreakKind.CONTENT_CHANGED,
        5,
        target.id,
    )
    assert report.entries == 4


async def test_a_changed_last_entry_is_named_against_the_head(two_cities: Database) -> None:
    db = two_cities
    last = (await db.chain(LogName.EVENT, KUMAMOTO))[-1]
    await db.sql("UPDATE event_log SET action = 'erase' WHERE id = :id", id=last.id)
    broken = assert_only_broken(await db.reports(), LogName.EVENT, KUMAMOTO).broken
    assert broken is not None
    assert (broken.kind, broken.chain_seq, broken.row_id) == (
        BreakKind.CONTENT_CHANGED,
        last.chain_seq,
        last.id,
    )


async def test_a_row_rewritten_with_a_recomputed_hash_is_caught_by_its_mac(
    two_cities: Database,
) -> None:
    """Recomputing its hash does not help: the row's MAC no longer matches, and without the MAC
    check the next entry (chained to the old hash) would still tell."""
    db = two_cities
    chain = await db.chain(LogName.EVENT, KUMAMOTO)
    target = chain[9]
    await db.sql("UPDATE event_log SET action = 'reject' WHERE id = :id", id=target.id)
    table = EventLog.__table__
    async with db.maker() as session:
        row = (await session.execute(select(table).where(table.c.id == target.id))).mappings().one()
    rewritten = entry_hash(chain[8].chain_hash, canonical_json(LogName.EVENT, row))
    await db.sql("UPDATE event_log SET chain_hash = :h WHERE id = :id", h=rewritten, id=target.id)
    broken = assert_only_broken(await db.reports(), LogName.EVENT, KUMAMOTO).broken
    assert broken is not None
    assert (broken.kind, broken.chain_seq, broken.row_id) == (BreakKind.MAC_MISMATCH, 10, target.id)
    keyless = audit.ChainWalker(LogName.EVENT)
    async with db.maker() as session:
        rows = (
            (
                await session.execute(
                    select(table)
                    .where(table.c.municipality_code == KUMAMOTO, table.c.chain_seq.is_not(None))
                    .order_by(table.c.chain_seq)
                )
            )
            .mappings()
            .all()
        )
    for r in rows:
        keyless.add(r)
    assert keyless.broken is not None
    assert (keyless.broken.kind, keyless.broken.chain_seq) == (BreakKind.CONTENT_CHANGED, 11)
    assert "the entry before it was rewritten together with its hash" in keyless.broken.detail


async def test_a_deleted_middle_entry_is_named_as_missing(two_cities: Database) -> None:
    db = two_cities
    chain = await db.chain(LogName.ACCESS, KUMAMOTO)
    await db.sql("DELETE FROM access_log WHERE id = :id", id=chain[3].id)
    broken = assert_only_broken(await db.reports(), LogName.ACCESS, KUMAMOTO).broken
    assert broken is not None
    assert (broken.kind, broken.chain_seq, broken.row_id) == (
        BreakKind.MISSING_ENTRY,
        4,
        chain[4].id,
    )


async def test_deleted_tail_entries_are_reported_against_the_head(two_cities: Database) -> None:
    db = two_cities
    chain = await db.chain(LogName.EVENT, ADACHI)
    for row in chain[-2:]:
        await db.sql("DELETE FROM event_log WHERE id = :id", id=row.id)
    report = assert_only_broken(await db.reports(), LogName.EVENT, ADACHI)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.chain_seq) == (BreakKind.DELETED_TAIL, len(chain) - 1)
    assert f"chain_seq {len(chain)}" in report.broken.detail
    assert report.entries == len(chain) - 2


async def test_a_changed_chain_hash_is_named(two_cities: Database) -> None:
    db = two_cities
    target = (await db.chain(LogName.EVENT, KUMAMOTO))[6]
    forged = "f" * 64
    await db.sql("UPDATE event_log SET chain_hash = :h WHERE id = :id", h=forged, id=target.id)
    broken = assert_only_broken(await db.reports(), LogName.EVENT, KUMAMOTO).broken
    assert broken is not None
    assert (broken.kind, broken.chain_seq, broken.row_id) == (BreakKind.HASH_MISMATCH, 7, target.id)
    assert forged in broken.detail and target.chain_hash in broken.detail


async def test_a_rewritten_head_is_reported(two_cities: Database) -> None:
    db = two_cities
    await db.sql(
        "UPDATE audit_chain_head SET last_hash = :h"
        " WHERE log = 'access' AND municipality_code = :c",
        h="0" * 64,
        c=ADACHI,
    )
    broken = assert_only_broken(await db.reports(), LogName.ACCESS, ADACHI).broken
    assert broken is not None and broken.kind is BreakKind.HEAD_MISMATCH


async def test_a_forged_entry_past_the_head_is_reported(two_cities: Database) -> None:
    db = two_cities
    chain = await db.chain(LogName.EVENT, KUMAMOTO)
    async with db.maker() as session:
        await session.execute(
            insert(EventLog.__table__).values(
                municipality_code=KUMAMOTO,
                at=datetime.now(UTC),
                entity="application",
                entity_id="x",
                action="approve",
                chain_seq=len(chain) + 1,
                chain_hash="a" * 64,
            )
        )
        await session.commit()
    broken = assert_only_broken(await db.reports(), LogName.EVENT, KUMAMOTO).broken
    assert broken is not None
    assert (broken.kind, broken.chain_seq) == (BreakKind.BEYOND_HEAD, len(chain) + 1)


# ---- the command -----------------------------------------------------------------------------


async def test_audit_verify_command_reports_per_chain_and_fails_on_a_break(
    two_cities: Database,
) -> None:
    db = two_cities
    intact = madoguchi(db.url, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    lines = intact.stdout.splitlines()
    assert len(lines) == 4 and all(": OK " in line for line in lines)
    head = (await db.chain(LogName.EVENT, KUMAMOTO))[-1]
    assert (
        f"event {KUMAMOTO}: OK {head.chain_seq} entries, head {head.chain_hash}; "
        "0 not yet sealed (未封印 0 件)"
    ) in lines

    target = (await db.chain(LogName.EVENT, KUMAMOTO))[2]
    await db.sql("UPDATE event_log SET entity_id = 'someone-else' WHERE id = :id", id=target.id)
    await db.write(ADACHI, reads=2)
    broken = madoguchi(db.url, "audit", "verify")
    assert broken.returncode == 1
    assert (
        f"event {KUMAMOTO}: BROKEN at chain_seq 3, row id {target.id}: content changed "
        "(記録後に内容が変更されています)"
    ) in broken.stdout
    assert (
        f"access {ADACHI}: OK " in broken.stdout
        and "; 2 not yet sealed (未封印 2 件)" in broken.stdout
    )
    assert "1 chain(s) broken" in broken.stderr

    other = madoguchi(
        db.url, "audit", "verify", "--municipality", ADACHI, "--log", "access", "--seal", "--json"
    )
    assert other.returncode == 0, other.stderr
    (only,) = [json.loads(line) for line in other.stdout.splitlines()]
    assert (only["log"], only["municipality"], only["status"], only["unsealed"]) == (
        "access",
        ADACHI,
        "ok",
        0,
    )
    assert only["entries"] == only["head_seq"] == len(await db.chain(LogName.ACCESS, ADACHI))

    as_json = madoguchi(db.url, "audit", "verify", "--municipality", KUMAMOTO, "--json")
    assert as_json.returncode == 1
    found = {row["log"]: row for row in map(json.loads, as_json.stdout.splitlines())}
    assert found["event"]["break"]["kind"] == "content_changed"
    assert found["event"]["break"]["row_id"] == target.id and found["access"]["status"] == "ok"


def test_audit_verify_refuses_an_unknown_municipality(clean_db: str) -> None:
    result = madoguchi(clean_db, "audit", "verify", "--municipality", "999999")
    assert result.returncode == 2
    assert "no such municipality" in result.stderr and result.stdout == ""
