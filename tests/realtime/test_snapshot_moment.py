"""A display's snapshot is the lobby at one moment: never tickets newer than its seq."""

import pytest

from app.services import lobby as lobby_service
from tests.support import LiveServer, Office, is_postgres


async def _issue(server: LiveServer, office: Office) -> dict:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category("A")}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_ticket_issued_while_a_snapshot_is_read_is_not_in_it(
    server: LiveServer, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_postgres(server.settings.database_url):
        pytest.skip(
            "SQLite: a transaction holds the write lock from its start, "
            "nothing commits during a read"
        )
    await _issue(server, office)
    read_channel = lobby_service.lobby_store.get_channel
    issued: list[dict] = []

    async def channel_then_a_kiosk_press(session, office_id):  # type: ignore[no-untyped-def]
        channel = await read_channel(session, office_id)
        if not issued:  # a resident presses the kiosk between the seq and the tickets being read
            issued.append(await _issue(server, office))
        return channel

    monkeypatch.setattr(lobby_service.lobby_store, "get_channel", channel_then_a_kiosk_press)
    async with server.client(office.token("display")) as display:
        response = await display.get(f"/offices/{office.id}/lobby")
    assert response.status_code == 200, response.text
    snapshot = response.json()
    assert issued, "the concurrent press did not happen"
    waiting = {q["prefix"]: q["waiting"] for q in snapshot["queues"]}
    # The snapshot's seq is from before the second press, so its state must be too: one waiting.
    # The press's own event (seq + 1) brings the second, as it does for every display.
    assert waiting["A"] == 1, snapshot
    async with server.client(office.token("display")) as display:
        after = (await display.get(f"/offices/{office.id}/lobby")).json()
    assert after["seq"] > snapshot["seq"]
    assert {q["prefix"]: q["waiting"] for q in after["queues"]}["A"] == 2
