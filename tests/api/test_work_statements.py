"""What a claim and a submit send to the database: few statements, the same whatever the queue.

The hot path of the central queue (README, Performance): a claim is the claim statement and its
log rows; a keyed submit locks task and application in one statement and writes the step in
one more on PostgreSQL (task, application, next task and its exclusions, ticket, household and
the log rows). The background jobs share the engine, so each count is the lowest of a few pairs.
"""

from typing import Any

from sqlalchemy import event

from tests.api.test_work_queue import claim, receive, submit, token
from tests.factories import status_report
from tests.support import LiveServer, Office

PAIRS = 3


async def counted_pairs(server: LiveServer, office: Office) -> list[tuple[list[str], list[str]]]:
    for n in range(PAIRS + 1):
        await receive(server, office, status_report(ref=f"stmt-{n}"))
    operator = await token(server, office, "operator", "A")
    engine = server.app.state.resources.engine.sync_engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    pairs: list[tuple[list[str], list[str]]] = []
    async with server.client(operator) as client:
        for n in range(PAIRS + 1):
            statements.clear()
            if n:  # the first pair looks the token up
                event.listen(engine, "before_cursor_execute", count)
            try:
                task = await claim(client, kinds=["entry"])
                assert task is not None
                claimed = list(statements)
                statements.clear()
                done = await submit(
                    client, task, values=task["form"]["values"], submit_with_problems=True
                )
                assert done.status_code == 200, done.text
                assert done.json()["application_status"] in ("verify", "review")
            finally:
                if n:
                    event.remove(engine, "before_cursor_execute", count)
            if n:
                pairs.append((claimed, list(statements)))
    return pairs


async def test_a_claim_and_a_keyed_submit_are_four_statements_on_postgresql(
    server: LiveServer, office: Office
) -> None:
    pairs = await counted_pairs(server, office)
    claims = min(len(c) for c, _s in pairs)
    submits = min(len(s) for _c, s in pairs)
    if server.settings.database_url.startswith("postgresql"):
        assert (claims, submits) == (2, 2), pairs
    else:
        # SQLite: BEGIN IMMEDIATE, the claim, the household, the application, a log row each;
        # BEGIN IMMEDIATE, the lock, one write per row, the household and the log row.
        assert claims <= 6 and submits <= 8, pairs
