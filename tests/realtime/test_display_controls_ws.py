"""Messages outside the lobby's sequence (display.test, display.settings) reach the displays
held by every process, one display token's screens or all of the office's."""

import asyncio
import json
from typing import Any

import httpx2
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.realtime.hub import CONTROL_SEQ, Hub
from tests.support import Office, seed
from tests.support_process import server_process


async def next_message(display: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(display.recv(), 5))
        if message["type"] != "heartbeat":
            return dict(message)


async def no_fetch(_office: str, _after: int, _upto: int) -> list[tuple[int, str]]:
    return []


async def test_the_hub_sends_to_one_token_or_the_whole_office_only() -> None:
    hub = Hub(no_fetch)
    with (
        hub.subscribe("o1", token_id="t1") as first,
        hub.subscribe("o1", token_id="t2") as second,
        hub.subscribe("o2", token_id="t1") as elsewhere,
    ):
        assert hub.control("o1", "one", "t1") == 1
        assert first.queue.get_nowait() == (CONTROL_SEQ, "one")
        assert second.queue.empty() and elsewhere.queue.empty()
        hub.control_payload(json.dumps({"office": "o1", "token": None, "message": "all"}))
        assert first.queue.get_nowait() == second.queue.get_nowait() == (CONTROL_SEQ, "all")
        hub.control_payload("not json")  # ignored
        assert elsewhere.queue.empty()


@pytest.mark.postgres
async def test_a_test_sent_through_one_process_reaches_one_display_on_another(
    clean_db: str,
) -> None:
    office = Office(await seed(clean_db))
    admin = {"Authorization": f"Bearer {office.token('admin')}"}
    with server_process(clean_db) as first, server_process(clean_db) as second:
        async with httpx2.AsyncClient(base_url=second + "/api/v1", headers=admin) as other:
            made = await other.post(
                "/admin/tokens", json={"role": "display", "name": "2F", "office_id": office.id}
            )
            assert made.status_code == 201, made.text
            upstairs = made.json()
            base = first.replace("http", "ws") + f"/api/v1/ws/offices/{office.id}/lobby?token="
            async with (
                connect(base + office.token("display")) as hall,
                connect(base + upstairs["token"]) as floor2,
            ):
                hall_seq = (await next_message(hall))["seq"]
                await next_message(floor2)
                sent = await other.post(
                    f"/admin/offices/{office.id}/test-announcement",
                    json={"display": upstairs["id"]},
                )
                assert sent.status_code == 202, sent.text
                test = await next_message(floor2)
                assert test["type"] == "display.test"
                assert "seq" not in test
                assert [a["language"] for a in test["announcements"]] == ["ja", "en"]
                quiet = await other.put(
                    f"/admin/offices/{office.id}/quiet-hours",
                    json={"ranges": [{"start": "12:00", "end": "13:00"}]},
                )
                assert quiet.status_code == 200, quiet.text
                # The hall's display was not sent the test: its next message is the settings.
                for display in (hall, floor2):
                    settings = await next_message(display)
                    assert settings["type"] == "display.settings"
                    assert settings["quiet_hours"] == [{"start": "12:00", "end": "13:00"}]
                # Neither is a lobby event: the next call follows the last seq.
                kiosk = {"Authorization": f"Bearer {office.token('kiosk')}"}
                issued = await other.post(
                    f"/offices/{office.id}/tickets",
                    json={"category": office.category("A")},
                    headers=kiosk,
                )
                assert issued.status_code == 201
                assert (await next_message(hall))["seq"] == hall_seq + 1
