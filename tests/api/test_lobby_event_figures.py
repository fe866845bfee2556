"""The queue figures an event carries are those of its own place in the seq order.

Two lobby changes made at once through different connections must each count the waiting
residents after the one before them has committed; otherwise the last event shows a figure that
is never true and the displays keep it until the next change.
"""

import asyncio

import pytest
from sqlalchemy import select, text

from app.storage.db import create_engine
from app.storage.tables import LobbyEvent
from tests.support import LiveServer, Office


@pytest.mark.postgres
async def test_concurrent_issue_and_call_leave_the_true_waiting_count_on_the_displays(
    server: LiveServer, office: Office
) -> None:
    category = office.category("A")
    async with (
        server.client(office.token("kiosk")) as kiosk,
        server.client(office.token("counter")) as counter,
    ):
        for _ in range(2):
            assert (
                await kiosk.post(f"/offices/{office.id}/tickets", json={"category": category})
            ).status_code == 201
        engine = create_engine(server.settings.database_url)
        try:
            async with engine.connect() as holder:
                # Hold the office's channel row, so that both commands below reach it and wait.
                await holder.execute(
                    text("SELECT seq FROM lobby_channel WHERE office_id = :office FOR UPDATE"),
                    {"office": office.id},
                )
                issue = asyncio.create_task(
                    kiosk.post(f"/offices/{office.id}/tickets", json={"category": category})
                )
                call = asyncio.create_task(
                    counter.post(f"/counters/{office.counter('2')}/call-next")
                )
                async with engine.connect() as probe:
                    for _ in range(200):
                        waiting = (
                            await probe.execute(
                                text(
                                    "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE datname = current_database()"
                                    " AND wait_event_type = 'Lock'"
                                )
                            )
                        ).scalar_one()
                        await probe.commit()  # the activity view is frozen for a transaction
                        if waiting == 2:
                            break
                        await asyncio.sleep(0.05)
                    assert waiting == 2, "both commands should be waiting for the channel row"
                await holder.commit()
                assert (await issue).status_code == 201
                assert (await call).status_code == 200
            async with engine.connect() as reader:
                last = (
                    await reader.execute(
                        select(LobbyEvent.data)
                        .where(LobbyEvent.office_id == office.id)
                        .order_by(LobbyEvent.seq.desc())
                        .limit(1)  # type: ignore[union-attr]
                    )
                ).scalar_one()
        finally:
            await engine.dispose()
    async with server.client(office.token("display")) as display:
        snapshot = (await display.get(f"/offices/{office.id}/lobby")).json()
    # Three issued, one called: two wait. The last event must say so, as the snapshot does.
    assert next(q["waiting"] for q in snapshot["queues"] if q["category_id"] == category) == 2
    assert next(q["waiting"] for q in last["queues"] if q["category_id"] == category) == 2
