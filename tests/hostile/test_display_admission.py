"""Per-address limits on lobby websockets, through the real server: an address that opens too
many, or connects too often, is answered 429 before the upgrade; other addresses and the
displays already connected notice nothing.

Each display connects from a loopback address of its own lobby (127.0.0.0/8 is all loopback on
Linux), as displays behind different NAT addresses would.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.settings import DisplaySettings
from tests.support import LiveServer, Office, make_settings, run_server, seed


async def receive(ws: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


def open_display(server: LiveServer, office: Office, source: str) -> Any:
    return connect(
        server.lobby_ws(office.id, office.token("display")),
        local_addr=(source, 0),
        open_timeout=10,
    )


async def turned_away(server: LiveServer, office: Office, source: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        async with open_display(server, office, source):
            pass
    return caught.value


async def issue(server: LiveServer, office: Office, n: int) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        for _ in range(n):
            response = await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
            assert response.status_code == 201


async def issued_seqs(ws: ClientConnection, count: int) -> list[int]:
    seqs: list[int] = []
    while len(seqs) < count:
        message = await receive(ws)
        if message["type"] == "ticket.issued":
            seqs.append(message["seq"])
    return seqs


@contextlib.asynccontextmanager
async def server_with(clean_db: str, **limits: Any) -> AsyncIterator[tuple[LiveServer, Office]]:
    display = DisplaySettings(heartbeat_s=5.0, watchdog_s=1.0, **limits)
    async with run_server(make_settings(clean_db, display=display)) as live:
        yield live, Office(await seed(live.settings.database_url, "431001"))


async def test_a_lobby_of_50_behind_one_address_connects_and_the_51st_display_is_refused(
    clean_db: str,
) -> None:
    """The defaults: a whole floor behind one NAT address connects at once."""
    async with server_with(clean_db) as (server, office), contextlib.AsyncExitStack() as stack:
        lobby = await asyncio.gather(
            *(
                stack.enter_async_context(open_display(server, office, "127.0.4.1"))
                for _ in range(50)
            )
        )
        snapshots = await asyncio.gather(*(receive(ws) for ws in lobby))
        assert {s["type"] for s in snapshots} == {"lobby.snapshot"}

        refused = await turned_away(server, office, "127.0.4.1")
        assert refused.response.status_code == 429
        assert int(refused.response.headers["Retry-After"]) >= 1
        assert refused.response.headers["Content-Type"] == "application/problem+json"
        problem = json.loads(refused.response.body)
        assert problem["code"] == "too_many_connections" and problem["status"] == 429
        assert "too many display connections" in problem["detail"]

        # Another address is not affected, and every display connected gets the next ticket.
        async with open_display(server, office, "127.0.4.2") as other:
            first = await receive(other)
            await issue(server, office, 1)
            for ws in [other, *lobby]:
                assert await issued_seqs(ws, 1) == [first["seq"] + 1]

        # One display of the floor leaves: another may take its place.
        await lobby[0].close()
        await asyncio.sleep(0.2)
        async with open_display(server, office, "127.0.4.1") as again:
            assert (await receive(again))["type"] == "lobby.snapshot"


async def test_reconnecting_too_often_is_refused_while_connected_displays_get_every_event(
    clean_db: str,
) -> None:
    async with server_with(clean_db, connects_per_s=0.05, connect_burst=3) as (server, office):
        async with open_display(server, office, "127.0.5.9") as healthy:
            first = (await receive(healthy))["seq"]
            for _ in range(3):  # the burst
                async with open_display(server, office, "127.0.5.1") as ws:
                    assert (await receive(ws))["type"] == "lobby.snapshot"

            async def hammer() -> list[InvalidStatus]:
                return [await turned_away(server, office, "127.0.5.1") for _ in range(20)]

            refusals, _ = await asyncio.gather(hammer(), issue(server, office, 5))
            assert {r.response.status_code for r in refusals} == {429}
            assert {json.loads(r.response.body)["code"] for r in refusals} == {"rate_limited"}
            assert all(int(r.response.headers["Retry-After"]) >= 1 for r in refusals)
            # The display already connected misses nothing, in order.
            assert await issued_seqs(healthy, 5) == list(range(first + 1, first + 6))
            # Another address connects as usual.
            async with open_display(server, office, "127.0.5.2") as other:
                assert (await receive(other))["seq"] == first + 5
        # Every connection, admitted or not, is given back: the address may connect again
        # once its bucket refills, whatever happened before.
        admission = server.app.state.display_admission
        for _ in range(50):
            if not any(admission.open_from(a) for a in ("127.0.5.1", "127.0.5.2", "127.0.5.9")):
                break
            await asyncio.sleep(0.1)
        addresses = ("127.0.5.1", "127.0.5.2", "127.0.5.9")
        assert [admission.open_from(a) for a in addresses] == [0, 0, 0]


async def test_limits_set_to_zero_are_off(clean_db: str) -> None:
    limits = {"connections_per_address": 0, "connects_per_s": 0.0}
    async with (
        server_with(clean_db, **limits) as (server, office),
        contextlib.AsyncExitStack() as stack,
    ):
        lobby = [
            await stack.enter_async_context(open_display(server, office, "127.0.6.1"))
            for _ in range(80)
        ]
        snapshots = await asyncio.gather(*(receive(ws) for ws in lobby))
        assert {s["type"] for s in snapshots} == {"lobby.snapshot"}
