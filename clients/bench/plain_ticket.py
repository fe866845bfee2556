"""The kiosk press's baseline: a plain INSERT of the same ticket row, one transaction each,
through the same driver and pool as the server (app.storage.db.create_engine), in a process of
its own with the server's event loop. Run by clients/bench/lobby.py, one such process per
server process, each with its share of the kiosks.

Protocol (one JSON line each way): the parent sends the job; the child opens its connections,
answers ``{"ready": true}``, waits for a ``go`` line, inserts, answers its start and end
(CLOCK_MONOTONIC, shared by the processes of this host) and how many rows it stored, then
deletes its rows (untimed). The rows have the day ``PLAIN_DAY``: they stay out of the lobby
that the rest of the run measures (its figures and replays read today's tickets only).
"""

import asyncio
import itertools
import json
import secrets
import sys
import time
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert

from app.storage.db import create_engine, new_id, table_of
from app.storage.tables import Ticket

PLAIN_DAY = date(2001, 1, 1)
_ticket = table_of(Ticket)
_INSERT = insert(_ticket)


def ticket_row(job: dict[str, Any], sequence: int) -> dict[str, Any]:
    """Every column a kiosk press writes, with the values such a press gives them."""
    now = datetime.now(UTC)
    row = {c.name: None for c in _ticket.c}
    row.update(
        id=new_id(),
        municipality_code=job["municipality_code"],
        office_id=job["office_id"],
        category_id=job["category_id"],
        numbered_category_id=job["category_id"],
        business_day=PLAIN_DAY,
        sequence=sequence,
        number=f"P-{sequence:03d}",
        status="waiting",
        is_priority=False,
        language="ja",
        public_key=secrets.token_urlsafe(16),
        issued_at=now,
        queued_at=now,
        call_count=0,
        recall_count=0,
        passed_by=0,
        estimate_min=7,
        estimates={"lobby_replay": 7, "mean_open": 7, "median_configured": 6, "fixed_default": 5},
    )
    return row


async def run(job: dict[str, Any]) -> None:
    engine = create_engine(job["url"])
    sequences = itertools.count(job["first_sequence"])
    stored = 0

    async def one() -> None:
        nonlocal stored
        async with engine.begin() as connection:
            await connection.execute(_INSERT, ticket_row(job, next(sequences)))
        stored += 1

    try:
        # Open every connection of the pool this share of the kiosks uses, as the burst does.
        await asyncio.gather(*(one() for _ in range(job["concurrency"])))
        print(json.dumps({"ready": True}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        stored = 0
        todo = itertools.count()

        async def worker() -> None:
            while next(todo) < job["rows"]:
                await one()

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
        ended = time.monotonic()
        print(json.dumps({"started": started, "ended": ended, "stored": stored}), flush=True)
        async with engine.begin() as connection:
            await connection.execute(
                delete(_ticket).where(
                    _ticket.c.office_id == job["office_id"], _ticket.c.business_day == PLAIN_DAY
                )
            )
    finally:
        await engine.dispose()


def main() -> None:
    job = json.loads(sys.stdin.readline())
    try:
        import uvloop  # the server's loop (uvicorn picks it when installed)
    except ImportError:
        asyncio.run(run(job))
    else:
        uvloop.run(run(job))


if __name__ == "__main__":
    main()
