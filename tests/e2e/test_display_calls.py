"""The display's "now calling": the hero is the latest call, a ticket that is done, cancelled or
not present leaves the screen at once, calls age out after a set time, and the board fits its
screen in every orientation."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.e2e.test_display import shown_calls
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

DISPLAY_VIEWPORTS = [
    {"width": 1920, "height": 1080},
    {"width": 1280, "height": 720},
    {"width": 1080, "height": 1920},
]

OVERFLOW = """() => {
  const d = document.documentElement;
  const inside = (e) => {
    const r = e.getBoundingClientRect();
    return r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1;
  };
  const parts = [...document.querySelectorAll('.top, .hero, #calls li, .queue, .legend, .bottom')];
  return {scrollHeight: d.scrollHeight, innerHeight, scrollWidth: d.scrollWidth, innerWidth,
          outside: parts.filter(e => e.offsetParent && !inside(e)).map(e => e.className),
          clipped: [...document.querySelectorAll('.hero-number, .call-number, .hero-counter-label')]
            .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.className)};
}"""


async def settled(page: Page, calls: list[tuple[str, str]], timeout_s: float = 3) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (shown := await shown_calls(page)) != calls:
        assert asyncio.get_running_loop().time() < deadline, f"{shown} != {calls}"
        await asyncio.sleep(0.05)


async def test_the_hero_is_the_latest_call_and_finished_tickets_leave_the_screen(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    tickets = [await lobby.issue("A") for _ in range(4)]
    display = await open_display(server, office)

    a1 = await lobby.call_next("1")
    a2 = await lobby.call_next("2")
    await settled(display, [("A-002", "2"), ("A-001", "1")])
    await lobby.act(a1["id"], "start")  # being served at 1: stays, but is not the hero
    await settled(display, [("A-002", "2"), ("A-001", "1")])
    assert await display.get_attribute("#hero", "data-state") == "called"

    a3 = await lobby.call_next("4")
    await settled(display, [("A-003", "4"), ("A-002", "2"), ("A-001", "1")])
    await lobby.act(a1["id"], "finish")
    await settled(display, [("A-003", "4"), ("A-002", "2")])
    await lobby.act(a3["id"], "no-show")
    await settled(display, [("A-002", "2")])
    await lobby.act(a3["id"], "recall")  # a no-show recalled later is the latest call again
    await settled(display, [("A-003", "4"), ("A-002", "2")])
    await lobby.act(a2["id"], "cancel")
    await settled(display, [("A-003", "4")])

    # A display that comes up now shows the same, from the snapshot.
    fresh = await open_display(server, office)
    await settled(fresh, [("A-003", "4")])
    assert tickets[3]["number"] == "A-004"


async def test_calls_age_out_of_the_screen_after_the_set_time(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    await lobby.issue("A")
    await lobby.issue("A")
    display = await open_display(server, office, query="&expire=0.05")  # 3 seconds
    keeping = await open_display(server, office, query="&expire=0")  # never

    await lobby.call_next("1")
    await settled(display, [("A-001", "1")])
    await asyncio.sleep(1.5)
    await lobby.call_next("2")
    await settled(display, [("A-002", "2"), ("A-001", "1")])
    await settled(display, [("A-002", "2")], timeout_s=3)
    await settled(display, [], timeout_s=3)
    assert await display.get_attribute("#hero", "data-state") == "empty"
    # A reload does not bring back what aged out.
    await display.reload()
    await display.wait_for_function("document.body.dataset.connection === 'live'")
    await asyncio.sleep(0.5)
    assert await shown_calls(display) == []
    assert await shown_calls(keeping) == [("A-002", "2"), ("A-001", "1")]


@pytest.mark.parametrize("viewport", DISPLAY_VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
async def test_a_full_board_fits_the_screen(
    server: LiveServer,
    office: Office,
    open_display: Any,
    lobby_for: Any,
    artifacts: Path,
    viewport: dict[str, int],
) -> None:
    lobby = lobby_for(server, office)
    for _ in range(14):
        await lobby.issue("A")
    for prefix in "BC":
        for _ in range(12):
            await lobby.issue(prefix)
    display = await open_display(server, office, viewport=viewport)
    for _ in range(12):
        await lobby.call_next("4")
    await display.wait_for_function("document.querySelectorAll('#calls li.is-empty').length === 0")
    box = await display.evaluate(OVERFLOW)
    size = f"{viewport['width']}x{viewport['height']}"
    await display.screenshot(path=artifacts / f"display-full-{size}.png")
    assert box["scrollHeight"] <= box["innerHeight"], box
    assert box["scrollWidth"] <= box["innerWidth"], box
    assert box["outside"] == [], box
    assert box["clipped"] == [], box
