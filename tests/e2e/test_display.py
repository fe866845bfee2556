"""The lobby display in a real browser: calls show within a second, survive a server restart in
order and spoken, look right in both orientations, and 1,000 calls leave the page's memory flat."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, WebSocketRoute

from app.api.deps import principal_for_token
from app.domain.tickets import TicketAction
from app.services import tickets as ticket_service
from app.services.uow import UnitOfWork
from app.settings import DisplaySettings
from tests.support import LiveServer, Office, free_port, make_settings, run_server, seed

pytestmark = pytest.mark.browser

# Chime at once: for tests that check many announcements and not the sound itself.
INSTANT_CHIME = """
HTMLMediaElement.prototype.play = function () {
  if (this.dataset.text && window.__keepSpoken) window.__spoken.push(this.dataset.text);
  setTimeout(() => this.dispatchEvent(new Event('ended')), 0);
  return Promise.resolve();
};
"""

HERO = "document.getElementById('hero-number').textContent"
PORTRAIT = {"width": 1080, "height": 1920}


def spoken(number: str, counter: str) -> list[str]:
    """What a call of a Japanese ticket says (the kiosk's default language): Japanese only."""
    prefix, _, digits = number.partition("-")
    letter = {"A": "エー", "B": "ビー", "C": "シー"}[prefix]
    return [f"{letter} の {int(digits)}番の方、{counter}番窓口へお越しください"]


async def shown_calls(page: Page) -> list[tuple[str, str]]:
    """(number, counter) on the screen, newest first: the hero, then the cards."""
    return [
        tuple(pair)
        for pair in await page.evaluate(
            """() => {
              const calls = [];
              const hero = document.getElementById('hero');
              if (hero.dataset.state !== 'empty') calls.push([
                document.getElementById('hero-number').textContent,
                document.getElementById('hero-counter').textContent]);
              for (const li of document.querySelectorAll('#calls li:not(.is-empty)'))
                calls.push([li.querySelector('.call-number').textContent,
                            li.querySelector('.call-counter .num').textContent]);
              return calls;
            }"""
        )
    ]


async def wait_spoken(page: Page, count: int, timeout_s: float = 30) -> list[str]:
    await page.wait_for_function(f"window.__spoken.length >= {count}", timeout=timeout_s * 1000)
    return list(await page.evaluate("window.__spoken"))


async def test_call_shows_within_a_second_with_its_counter(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any, artifacts: Path
) -> None:
    lobby = lobby_for(server, office)
    for prefix in "AAABBC":
        await lobby.issue(prefix)
    page = await open_display(server, office)
    assert await page.evaluate(HERO) == ""

    await lobby.call_next("2")
    called_at = time.monotonic()
    await page.wait_for_function(f"{HERO} === 'A-001'", timeout=1000)
    assert time.monotonic() - called_at < 1.0
    assert await page.text_content("#hero-counter") == "2"
    assert await wait_spoken(page, 1) == spoken("A-001", "2")

    # A fuller lobby for the screenshots: several counters busy, one resident being served.
    b = await lobby.call_next("3")
    await lobby.act(b["id"], "start")
    await lobby.call_next("1")
    await lobby.call_next("4")
    await page.wait_for_function(f"{HERO} === 'A-003'", timeout=2000)
    assert await shown_calls(page) == [
        ("A-003", "4"),
        ("A-002", "1"),
        ("B-001", "3"),
        ("A-001", "2"),
    ]
    waiting = await page.evaluate(
        "[...document.querySelectorAll('#queues li:not([hidden])')].map(li => "
        "[li.querySelector('.queue-prefix').textContent,"
        " li.querySelector('.queue-waiting .num').textContent])"
    )
    assert waiting == [["A", "0"], ["B", "1"], ["C", "1"]]
    await page.screenshot(path=artifacts / "display-landscape.png")

    # Sound off on this display: remembered, and calls are shown without a word.
    await page.click("#sound")
    assert await page.evaluate("localStorage.getItem('madoguchi.display.sound')") == "off"
    said = len(await page.evaluate("window.__spoken"))
    await lobby.act(b["id"], "finish")
    await lobby.call_next("3")
    await page.wait_for_function(f"{HERO} === 'B-002'", timeout=2000)
    await asyncio.sleep(0.5)
    assert len(await page.evaluate("window.__spoken")) == said
    await page.reload()
    await page.wait_for_function("document.body.dataset.connection === 'live'")
    assert await page.get_attribute("body", "data-sound") == "off"

    portrait = await open_display(server, office, viewport=PORTRAIT, query="&sound=off")
    assert await shown_calls(portrait) == await shown_calls(page)
    assert await portrait.get_attribute("body", "data-sound") == "off"
    await portrait.screenshot(path=artifacts / "display-portrait.png")


async def test_calls_made_while_the_server_is_down_are_shown_and_announced_in_order(
    clean_db: str, open_display: Any, lobby_for: Any
) -> None:
    settings = make_settings(clean_db, display=DisplaySettings(heartbeat_s=1.0, watchdog_s=0.5))
    port = free_port()
    office = Office(await seed(clean_db))
    async with run_server(settings, port=port) as first:
        lobby = lobby_for(first, office)
        for prefix in "AAB":
            await lobby.issue(prefix)
        page = await open_display(first, office)
        a1 = await lobby.call_next("2")
        await page.wait_for_function(f"{HERO} === 'A-001'", timeout=2000)
        assert await wait_spoken(page, 1) == spoken("A-001", "2")

    await page.wait_for_selector("#banner:not([hidden])", timeout=10_000)
    assert await page.get_attribute("body", "data-connection") in {"offline", "polling"}
    # Meanwhile another server process on the same database calls three times.
    async with run_server(settings) as elsewhere:
        lobby = lobby_for(elsewhere, office)
        await lobby.call_next("1")
        await lobby.call_next("3")
        await lobby.act(a1["id"], "recall")
    assert await shown_calls(page) == [("A-001", "2")]

    async with run_server(settings, port=port):
        await page.wait_for_function("document.body.dataset.connection === 'live'", timeout=45_000)
        assert await page.is_hidden("#banner")
        assert await shown_calls(page) == [("A-001", "2"), ("B-001", "3"), ("A-002", "1")]
        # Announced once each, in the order the calls were made, after the call seen live.
        said = await wait_spoken(page, 4)
        assert said == (
            spoken("A-001", "2")
            + spoken("A-002", "1")
            + spoken("B-001", "3")
            + spoken("A-001", "2")
        )
        await asyncio.sleep(1.5)
        assert len(await page.evaluate("window.__spoken")) == 4
        await page.close()


async def test_missed_events_are_refilled_by_resume_and_announced_once_in_order(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    for _ in range(12):
        await lobby.issue("A")
    dropped: list[int] = []
    resumes: list[dict[str, Any]] = []

    def lossy_network(route: WebSocketRoute) -> None:
        # Loses the first copy of every fifth event; what the server sends again gets through.
        upstream = route.connect_to_server()
        seen: set[int] = set()

        def to_page(message: str | bytes) -> None:
            data = json.loads(message)
            seq = data.get("seq")
            if data["type"].startswith("ticket.") and seq % 5 == 0 and seq not in seen:
                seen.add(seq)
                dropped.append(seq)
                return
            route.send(message)

        def to_server(message: str | bytes) -> None:
            resumes.append(json.loads(message))
            upstream.send(message)

        upstream.on_message(to_page)
        route.on_message(to_server)

    page = await open_display(server, office, init_script=INSTANT_CHIME, route_socket=lossy_network)
    numbers = [(await lobby.call_next(label))["number"] for label in "124" * 4]
    labels = list("124" * 4)
    await page.wait_for_function(f"{HERO} === '{numbers[-1]}'", timeout=5000)
    assert dropped == [15, 20]
    assert {r["type"] for r in resumes} == {"resume"}
    assert await shown_calls(page) == list(zip(reversed(numbers), reversed(labels), strict=True))
    said = await wait_spoken(page, 12)
    assert said == [line for n, c in zip(numbers, labels, strict=True) for line in spoken(n, c)]


async def test_a_connection_gone_silent_is_replaced_and_nothing_is_missed(
    clean_db: str, open_display: Any, lobby_for: Any
) -> None:
    settings = make_settings(clean_db, display=DisplaySettings(heartbeat_s=1.0, watchdog_s=0.5))
    office = Office(await seed(clean_db))
    connections: list[WebSocketRoute] = []

    def half_open_once(route: WebSocketRoute) -> None:
        # The first connection goes quiet after its first heartbeat, as a dead NAT entry would.
        upstream = route.connect_to_server()
        connections.append(route)
        first = len(connections) == 1
        state = {"beats": 0}

        def to_page(message: str | bytes) -> None:
            kind = json.loads(message)["type"]
            if first and kind == "heartbeat":
                state["beats"] += 1
            if first and (state["beats"] > 1 or (state["beats"] and kind != "heartbeat")):
                return
            route.send(message)

        upstream.on_message(to_page)

    async with run_server(settings) as live:
        lobby = lobby_for(live, office)
        await lobby.issue("C")
        page = await open_display(
            live, office, init_script=INSTANT_CHIME, route_socket=half_open_once
        )
        await asyncio.sleep(1.5)  # the first heartbeat has passed; the line is now silent
        await lobby.call_next("1")
        await page.wait_for_function(f"{HERO} === 'C-001'", timeout=8000)
        assert len(connections) == 2
        assert await wait_spoken(page, 1) == spoken("C-001", "1")


async def test_falls_back_to_polling_while_websockets_keep_failing(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    await lobby.issue("B")

    async def refuse(route: WebSocketRoute) -> None:
        await route.close(code=1011, reason="proxy refuses websockets")

    page = await open_display(
        server, office, init_script=INSTANT_CHIME, route_socket=refuse, wait_live=False
    )
    await page.wait_for_function("document.body.dataset.connection === 'polling'", timeout=15_000)
    await page.wait_for_selector("#banner[data-kind='polling']:not([hidden])", timeout=5000)
    await lobby.call_next("3")
    await page.wait_for_function(f"{HERO} === 'B-001'", timeout=7000)
    assert await page.text_content("#hero-counter") == "3"
    assert await wait_spoken(page, 1) == spoken("B-001", "3")


RECALLS_PER_COMMIT = 20

TIMER_PROBE = """
(() => {
  const timeouts = new Set(), intervals = new Set();
  const [st, ct, si, ci] = [setTimeout, clearTimeout, setInterval, clearInterval];
  window.setTimeout = (fn, ms, ...args) => {
    const id = st(() => { timeouts.delete(id); if (typeof fn === 'function') fn(...args); }, ms);
    timeouts.add(id);
    return id;
  };
  window.clearTimeout = (id) => { timeouts.delete(id); ct(id); };
  window.setInterval = (fn, ms, ...args) => {
    const id = si(fn, ms, ...args);
    intervals.add(id);
    return id;
  };
  window.clearInterval = (id) => { intervals.delete(id); ci(id); };
  window.__timers = () => ({ timeouts: timeouts.size, intervals: intervals.size });
  window.__keepSpoken = false;
})();
"""


async def drive_calls(server: LiveServer, office: Office, tickets: int, recalls: int) -> int:
    """``tickets`` new tickets called through the API, then ``recalls`` recalls spread over them
    (each one a call on the display: it moves to the top and is announced), made by the
    server's own services a batch per transaction to keep the test quick. Returns the seq."""
    counters = [office.counter(label) for label in ("1", "2", "4")]
    called: list[str] = []
    async with (
        server.client(office.token("kiosk")) as kiosk,
        server.client(office.token("counter")) as desk,
    ):
        for i in range(tickets):
            issued = await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
            assert issued.status_code == 201, issued.text
            response = await desk.post(f"/counters/{counters[i % len(counters)]}/call-next")
            assert response.status_code == 200, response.text
            called.append(response.json()["id"])
    resources = server.app.state.resources
    for start in range(0, recalls, RECALLS_PER_COMMIT):
        async with resources.sessionmaker() as session:
            uow = UnitOfWork(
                session,
                clock=resources.clock,
                settings=server.settings,
                notify_lobby=resources.hub.notify,
            )
            clerk = await principal_for_token(uow, office.token("counter"))
            for i in range(start, min(recalls, start + RECALLS_PER_COMMIT)):
                # A stride through the called tickets, so the list of 12 keeps changing.
                ticket_id = called[(i * 7) % len(called)]
                await ticket_service.act(
                    uow, clerk, ticket_id=ticket_id, action=TicketAction.RECALL
                )
            await uow.commit()
    async with server.client(office.token("display")) as display:
        return int((await display.get(f"/offices/{office.id}/lobby")).json()["seq"])


async def footprint(page: Page, cdp: Any) -> dict[str, float]:
    for _ in range(3):
        await cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    timers = await page.evaluate("window.__timers()")
    return {
        "elements": await page.evaluate("document.getElementsByTagName('*').length"),
        "heap": (await cdp.send("Runtime.getHeapUsage"))["usedSize"],
        "listeners": metrics["JSEventListeners"],
        "intervals": timers["intervals"],
        "timeouts": timers["timeouts"],
    }


async def test_memory_stays_flat_over_a_thousand_calls(
    server: LiveServer, office: Office, open_display: Any
) -> None:
    page = await open_display(server, office, init_script=TIMER_PROBE)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    await cdp.send("HeapProfiler.enable")

    seq = await drive_calls(
        server, office, 30, 20
    )  # warm-up: every code path has run and is compiled
    await page.wait_for_function(f"document.body.dataset.seq === '{seq}'", timeout=10_000)
    await asyncio.sleep(1.0)
    before = await footprint(page, cdp)

    started = time.monotonic()
    seq = await drive_calls(server, office, 100, 900)
    await page.wait_for_function(f"document.body.dataset.seq === '{seq}'", timeout=30_000)
    driven_s = time.monotonic() - started
    await asyncio.sleep(1.0)
    after = await footprint(page, cdp)

    print(f"1000 calls in {driven_s:.1f} s; before {before}; after {after}")
    assert len(await shown_calls(page)) == 12  # the newest 12 of 1,050 calls, no more
    assert abs(after["elements"] - before["elements"]) <= 5
    assert after["listeners"] <= before["listeners"] + 5
    assert after["intervals"] == before["intervals"]
    assert after["timeouts"] <= 10
    # The state is bounded (12 calls, the queues, at most 24 pending announcements: a few kB).
    # Measured here: the heap grows by ~140 kB once after the warm-up (V8 tiering up hot code),
    # the same after 1,000 or 3,000 calls; keeping every parsed event would add ~400 kB per
    # 1,000 calls. 384 kB passes the first and fails the second.
    assert after["heap"] - before["heap"] < 384 * 1024
