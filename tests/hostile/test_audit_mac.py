"""Audit rows only the service can write: a row inserted with SQL is never chained.

Every event and access log row carries an HMAC-SHA256 made with a key from the settings (never
in the database). The sealer refuses a row whose MAC is missing or wrong, and ``madoguchi audit
verify`` names it (log, municipality, row id) and exits 1.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from app.domain.audit import REJECTED, BreakKind, LogName, canonical_json, entry_hash, mac_content
from app.domain.clock import SystemClock
from app.main import create_app
from app.services import audit
from app.settings import AuditSettings, Settings
from app.storage.tables import AccessLog, EventLog
from tests.test_audit import ADACHI, KEYS, KUMAMOTO, Database, db, madoguchi, two_cities

__all__ = ["db", "two_cities"]  # fixtures

FORGED = {
    "municipality_code": KUMAMOTO,
    "entity": "application",
    "entity_id": "forged",
    "action": "approve",
    "from_status": "review",
    "to_status": "approved",
    "data": {"理由": "偽"},
}


async def insert_row(db: Database, table: object, **row: object) -> int:
    async with db.maker() as session:
        result = await session.execute(insert(table).values(**row).returning(table.c.id))  # type: ignore[attr-defined]
        row_id = int(result.scalar_one())
        await session.commit()
    return row_id


async def state(db: Database, table: str, row_id: int) -> tuple[object, object]:
    [(seq, chained)] = await db.sql(
        f"SELECT chain_seq, chain_hash FROM {table} WHERE id = :id", id=row_id
    )
    return seq, chained


async def test_a_row_inserted_with_sql_is_not_chained_and_verify_names_it(
    two_cities: Database,
) -> None:
    db = two_cities
    before = await db.chain(LogName.EVENT, KUMAMOTO)
    forged = await insert_row(db, EventLog.__table__, at=datetime.now(UTC), **FORGED)
    await db.write(KUMAMOTO, events=2)  # the service keeps writing meanwhile
    assert await db.seal() == {(LogName.EVENT, KUMAMOTO): 2}
    assert await state(db, "event_log", forged) == (None, REJECTED)
    after = await db.chain(LogName.EVENT, KUMAMOTO)
    assert forged not in [r.id for r in after] and len(after) == len(before) + 2
    report = (await db.reports())[(LogName.EVENT, KUMAMOTO)]
    assert report.broken is None and report.unsealed == 0
    assert (report.rejected, report.rejected_ids, report.ok) == (1, (forged,), False)
    # Sealing again does not pick it up again, and the other chains are untouched.
    assert await db.seal() == {}
    others = [r for k, r in (await db.reports()).items() if k != (LogName.EVENT, KUMAMOTO)]
    assert all(r.ok for r in others)

    result = madoguchi(db.url, "audit", "verify")
    assert result.returncode == 1, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith(f"event {KUMAMOTO}:")]
    assert "REFUSED 1 row(s) without a valid MAC" in line and f"row ids {forged}" in line
    as_json = madoguchi(
        db.url, "audit", "verify", "--municipality", KUMAMOTO, "--log", "event", "--json"
    )
    report_json = json.loads(as_json.stdout)
    assert as_json.returncode == 1
    assert (report_json["status"], report_json["refused"], report_json["refused_row_ids"]) == (
        "refused",
        1,
        [forged],
    )
    assert report_json["log"] == "event" and report_json["municipality"] == KUMAMOTO


@pytest.mark.parametrize("how", ["no_mac", "wrong_key", "unknown_key_id", "altered_after_signing"])
async def test_an_access_row_with_a_bad_mac_is_refused(two_cities: Database, how: str) -> None:
    db = two_cities
    row = {
        "municipality_code": ADACHI,
        "at": datetime.now(UTC),
        "actor_id": "tok-x",
        "actor_role": "reviewer",
        "action": "view",
        "entity": "application",
        "entity_id": "a1",
        "my_number_shown": True,
        "detail": {"fields": ["氏名"]},
    }
    if how == "wrong_key":
        row["mac_key"] = KEYS.current
        row["mac"] = hmac.new(
            b"guessed", mac_content(LogName.ACCESS, KEYS.current, row), hashlib.sha256
        ).hexdigest()
    elif how == "unknown_key_id":
        row["mac_key"], row["mac"] = "k9", "0" * 64
    elif how == "altered_after_signing":
        KEYS.sign(LogName.ACCESS, row)
    row_id = await insert_row(db, AccessLog.__table__, **row)
    if how == "altered_after_signing":
        await db.sql(
            "UPDATE access_log SET my_number_shown = :f WHERE id = :id", f=False, id=row_id
        )
    await db.seal()
    assert await state(db, "access_log", row_id) == (None, REJECTED)
    report = (await db.reports())[(LogName.ACCESS, ADACHI)]
    assert report.broken is None and report.rejected_ids == (row_id,)


async def test_a_row_signed_with_the_key_is_chained(two_cities: Database) -> None:
    """The control: the same insert with a MAC made by the service's key goes into the chain."""
    db = two_cities
    row = KEYS.sign(LogName.EVENT, {"at": datetime.now(UTC), **FORGED})
    row_id = await insert_row(db, EventLog.__table__, **row)
    await db.seal()
    seq, _hash = await state(db, "event_log", row_id)
    assert seq is not None
    assert (await db.reports())[(LogName.EVENT, KUMAMOTO)].ok


async def test_rewriting_a_sealed_row_and_its_chain_is_caught_by_the_mac(
    two_cities: Database,
) -> None:
    """Whoever can write the tables can recompute every chain hash, but not a MAC."""
    db = two_cities
    chain = await db.chain(LogName.EVENT, KUMAMOTO)
    target = chain[
        -1
    ]  # the last entry: recomputing its hash and the head's hides it from the chain
    await db.sql("UPDATE event_log SET action = 'reject' WHERE id = :id", id=target.id)
    reports = await db.reports()
    assert reports[(LogName.EVENT, KUMAMOTO)].broken is not None  # the chain sees the change...
    table = EventLog.__table__
    async with db.maker() as session:
        row = (await session.execute(select(table).where(table.c.id == target.id))).mappings().one()
    rewritten = entry_hash(chain[-2].chain_hash, canonical_json(LogName.EVENT, row))
    await db.sql("UPDATE event_log SET chain_hash = :h WHERE id = :id", h=rewritten, id=target.id)
    await db.sql(
        "UPDATE audit_chain_head SET last_hash = :h WHERE log = 'event' AND municipality_code = :c",
        h=rewritten,
        c=KUMAMOTO,
    )
    broken = (await db.reports())[(LogName.EVENT, KUMAMOTO)].broken  # ...and so does the MAC
    assert broken is not None
    assert (broken.kind, broken.row_id) == (BreakKind.MAC_MISMATCH, target.id)


async def test_rows_sealed_before_macs_are_accepted_only_up_to_the_recorded_head(
    two_cities: Database,
) -> None:
    db = two_cities
    chain = await db.chain(LogName.ACCESS, KUMAMOTO)
    upto = chain[3].chain_seq
    # As the migration leaves them: no MAC on rows sealed before it, the head remembers where.
    await db.sql(
        "UPDATE access_log SET mac = NULL, mac_key = NULL WHERE municipality_code = :c "
        "AND chain_seq <= :s",
        c=KUMAMOTO,
        s=upto,
    )
    await db.sql(
        "UPDATE audit_chain_head SET unkeyed_upto = :s"
        " WHERE log = 'access' AND municipality_code = :c",
        s=upto,
        c=KUMAMOTO,
    )
    report = (await db.reports())[(LogName.ACCESS, KUMAMOTO)]
    assert report.ok and report.unkeyed == upto
    # A row after that point without its MAC is not one of them.
    await db.sql("UPDATE access_log SET mac = NULL, mac_key = NULL WHERE id = :id", id=chain[5].id)
    broken = (await db.reports())[(LogName.ACCESS, KUMAMOTO)].broken
    assert broken is not None and (broken.kind, broken.row_id) == (
        BreakKind.MAC_MISMATCH,
        chain[5].id,
    )


async def test_after_a_key_rotation_rows_verify_with_the_retired_key(two_cities: Database) -> None:
    db = two_cities
    rotated = AuditSettings(
        key="a new key of at least thirty-two characters!",
        key_id="k2",
        retired_keys={KEYS.current: KEYS.secrets[KEYS.current].decode()},
    ).keys
    row = rotated.sign(LogName.EVENT, {"at": datetime.now(UTC), **FORGED})
    assert row["mac_key"] == "k2"
    await insert_row(db, EventLog.__table__, **row)
    await audit.seal(db.maker, SystemClock(), keys=rotated)
    reports = {(r.log, r.municipality_code): r async for r in audit.verify(db.maker, keys=rotated)}
    assert all(r.ok for r in reports.values())
    # Without the retired key the old rows cannot be vouched for.
    new_only = AuditSettings(key="a new key of at least thirty-two characters!", key_id="k2").keys
    reports = {(r.log, r.municipality_code): r async for r in audit.verify(db.maker, keys=new_only)}
    broken = reports[(LogName.EVENT, KUMAMOTO)].broken
    assert broken is not None and broken.kind is BreakKind.MAC_MISMATCH


def test_production_refuses_to_start_without_a_key() -> None:
    with pytest.raises(ValueError, match="MADOGUCHI_AUDIT__KEY"):
        create_app(Settings(environment="production"))
    with pytest.raises(ValueError, match="at least 32"):
        create_app(Settings(environment="production", audit=AuditSettings(key="short")))
    create_app(Settings(environment="production", audit=AuditSettings(key="x" * 32)))


def test_the_key_is_not_in_the_database_schema() -> None:
    columns = {c.name for t in (EventLog.__table__, AccessLog.__table__) for c in t.columns}  # type: ignore[attr-defined]
    assert {"mac", "mac_key"} <= columns and not any("secret" in c for c in columns)


@pytest.mark.parametrize(
    "data",
    [
        {"procedure": "child_rearing.status_report", "channel": "bulk_ocr", "problems": 3},
        {"b": "\udc80 lone", "a": 2**70, "c": None, "理由": "偽"},
        {"flag": True, "ratio": 0.5, "nested": {"z": [1, (2, 3)]}},
        {1: "an integer key"},
    ],
)
def test_the_mac_covers_data_as_json_reads_it_back(data: dict[object, object]) -> None:
    row = {**FORGED, "data": data, "at": datetime(2026, 12, 5, tzinfo=UTC)}
    round_trip = {**row, "data": json.loads(json.dumps(data))}
    assert mac_content(LogName.EVENT, "k1", row) == mac_content(LogName.EVENT, "k1", round_trip)
