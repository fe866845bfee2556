"""Sealing the event and access logs into per-municipality hash chains, and verifying them.

Writers never touch the chain: they insert log rows with chain_seq NULL, so no request waits
for a chain lock. The sealer (in the app's lifespan, or ``madoguchi audit seal``) gives the
rows their places in short transactions under the chain's head row lock; a row committed late
with a smaller id simply gets a later chain_seq, so no committed row is ever skipped.

The sealer chains only rows whose MAC the service's key makes (app/domain/audit.py): a row
inserted by other means is refused (chain_hash REJECTED, chain_seq NULL), logged, and listed by
verification; it is never deleted, so it stays as evidence.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from app.domain.audit import (
    AuditKeys,
    ChainBreak,
    ChainHead,
    ChainWalker,
    LogName,
    canonical_json,
    entry_hash,
)
from app.domain.clock import Clock
from app.storage import audit as store
from app.storage.db import Sessionmaker

log = logging.getLogger(__name__)


async def seal_batch(
    sessionmaker: Sessionmaker,
    clock: Clock,
    log_name: LogName,
    municipality_code: str,
    batch_rows: int,
    keys: AuditKeys,
) -> tuple[int, int]:
    """Chain up to ``batch_rows`` of one municipality's unsealed rows, oldest first, in one
    transaction; rows whose MAC is wrong are refused instead. (Rows chained, rows looked at.)"""
    async with sessionmaker() as session:
        now = clock.now()
        head = await store.lock_head(session, log_name, municipality_code, now)
        rows = await store.unsealed_rows(session, log_name, municipality_code, batch_rows)
        if not rows:
            await session.rollback()
            return 0, 0
        seq, last_hash = head.last_seq, head.last_hash
        seals, refused = [], []
        for row in rows:
            if not keys.check(log_name, row):
                refused.append(int(row["id"]))
                continue
            seq += 1
            last_hash = entry_hash(last_hash, canonical_json(log_name, {**row, "chain_seq": seq}))
            seals.append({"row_id": row["id"], "seq": seq, "hash": last_hash})
        if refused:
            log.warning(
                "audit: %d %s log row(s) of municipality %s have no valid MAC and were not chained "
                "(row ids %s)",
                len(refused),
                log_name,
                municipality_code,
                refused[:20],
            )
            await store.reject(session, log_name, refused)
        if seals:
            await store.write_seals(session, log_name, seals)
            await store.move_head(
                session,
                log_name,
                municipality_code,
                ChainHead(seq, last_hash, head.unkeyed_upto),
                now,
            )
        await session.commit()
        return len(seals), len(rows)


async def seal(
    sessionmaker: Sessionmaker,
    clock: Clock,
    *,
    logs: Iterable[LogName] = tuple(LogName),
    municipality_code: str | None = None,
    batch_rows: int = 1000,
    stop: asyncio.Event | None = None,
    keys: AuditKeys,
) -> dict[tuple[LogName, str], int]:
    """Seal every row committed so far; how many rows each chain took (refused rows not counted).

    Municipalities take turns a batch at a time, so one busy city never holds up the others.
    """
    sealed: dict[tuple[LogName, str], int] = {}
    for log_name in logs:
        async with sessionmaker() as session:
            pending = await store.municipalities_with_unsealed(session, log_name)
        if municipality_code is not None:
            pending = [code for code in pending if code == municipality_code]
        while pending and not (stop and stop.is_set()):
            still = []
            for code in pending:
                chained, looked = await seal_batch(
                    sessionmaker, clock, log_name, code, batch_rows, keys
                )
                sealed[(log_name, code)] = sealed.get((log_name, code), 0) + chained
                if looked == batch_rows:
                    still.append(code)
            pending = still
    return sealed


@dataclass(frozen=True)
class ChainReport:
    """One chain after verification: how long it is, its head, and its first break if any."""

    log: LogName
    municipality_code: str
    entries: int
    head: ChainHead | None
    unsealed: int
    broken: ChainBreak | None
    # Rows the sealer refused (no valid MAC): how many, and the first ids.
    rejected: int = 0
    rejected_ids: tuple[int, ...] = ()
    # Entries sealed before rows carried MACs (accepted on their chain hash alone).
    unkeyed: int = 0

    @property
    def ok(self) -> bool:
        return self.broken is None and self.rejected == 0


async def verify_chain(
    sessionmaker: Sessionmaker,
    log_name: LogName,
    municipality_code: str,
    chunk_rows: int = 1000,
    *,
    keys: AuditKeys,
) -> ChainReport:
    """Walk one chain in chain_seq order, a page at a time (constant memory, short reads),
    checking each entry's hash and MAC; then list the rows the sealer refused."""
    async with sessionmaker() as session:
        head = await store.find_head(session, log_name, municipality_code)
    walker = ChainWalker(log_name, keys, head.unkeyed_upto if head is not None else 0)
    # Rows up to the head read now; a seal that commits meanwhile is checked by the next run.
    upto = head.last_seq if head is not None else None
    after = 0
    while True:
        async with sessionmaker() as session:
            rows = await store.sealed_rows(
                session, log_name, municipality_code, after=after, upto=upto, limit=chunk_rows
            )
        if not all(walker.add(row) for row in rows) or len(rows) < chunk_rows:
            break
        after = int(rows[-1]["chain_seq"])
    broken = walker.finish(head)
    async with sessionmaker() as session:
        if broken is None and head is not None:
            beyond = await store.first_beyond_head(session, log_name, municipality_code)
            if beyond is not None:
                broken = walker.beyond_head(head, *beyond)
        unsealed = await store.count_unsealed(session, log_name, municipality_code)
        rejected, rejected_ids = await store.rejected_rows(session, log_name, municipality_code, 20)
    return ChainReport(
        log_name,
        municipality_code,
        walker.entries,
        head,
        unsealed,
        broken,
        rejected,
        tuple(rejected_ids),
        walker.unkeyed,
    )


async def verify(
    sessionmaker: Sessionmaker,
    *,
    logs: Iterable[LogName] = tuple(LogName),
    municipality_code: str | None = None,
    chunk_rows: int = 1000,
    keys: AuditKeys,
) -> AsyncIterator[ChainReport]:
    """Every chain of the given logs (and municipality), one report each as it is checked."""
    async with sessionmaker() as session:
        codes = await store.chain_municipalities(session, municipality_code)
    for log_name in logs:
        for code in codes:
            yield await verify_chain(sessionmaker, log_name, code, chunk_rows, keys=keys)


async def known_municipality(sessionmaker: Sessionmaker, municipality_code: str) -> bool:
    async with sessionmaker() as session:
        return municipality_code in await store.chain_municipalities(session, municipality_code)
