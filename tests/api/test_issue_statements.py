"""A kiosk press on PostgreSQL is three statements between BEGIN and COMMIT: the office, the
category, the lobby seq and the number; the queue figures with the lobby; the ticket with its
estimates, the lobby event, its NOTIFY and the log row (app/services/tickets.py)."""

from typing import Any

import pytest
from sqlalchemy import event

from tests.support import Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


@pytest.mark.postgres
async def test_a_kiosk_press_is_three_statements_on_postgresql(clean_db: str) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        engine = server.app.state.resources.engine.sync_engine
        async with server.client(office.token("kiosk")) as kiosk:
            for waiting in range(3):
                # (connection, statement): background jobs use the pool meanwhile.
                seen: list[tuple[Any, str]] = []

                def count(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                    seen.append((conn, statement))  # noqa: B023 (listened to in this round)

                event.listen(engine, "before_cursor_execute", count)
                try:
                    clock.advance(1)
                    response = await kiosk.post(
                        f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                    )
                finally:
                    event.remove(engine, "before_cursor_execute", count)
                assert response.status_code == 201, response.text
                assert response.json()["ahead"] == waiting
                first = next(i for i, (_c, s) in enumerate(seen) if "lobby_channel" in s)
                press = [s for c, s in seen[first:] if c is seen[first][0]]
                last = next(i for i, s in enumerate(press) if "INSERT INTO lobby_event" in s)
                statements = press[: last + 1]
                assert len(statements) == 3, statements
                # The seq and the number are taken together; the lobby is read once, with the
                # figures; the ticket is inserted with the event.
                assert "ticket_sequence" in statements[0]
                assert "stops" in statements[1] and "paused" in statements[1]
                assert "INSERT INTO ticket " in statements[2]
