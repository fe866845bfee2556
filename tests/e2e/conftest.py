"""Browser tests: headless Chromium through Playwright against a live server.

Screenshots go to test-artifacts/ at the repository root. Speech is stubbed: the words of every
announcement file played (and of every utterance of the browser's own speech) are pushed to
``window.__spoken`` and reported as said at once, so tests can check what a display says, and in
which order, without audio.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright

from tests.support import LiveServer, Office

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A lobby screen has nobody to tap it: chime and speech must play without a gesture.
    "--autoplay-policy=no-user-gesture-required",
]

SPEECH_STUB = """
window.__spoken = [];
window.__keepSpoken = true;
window.speechSynthesis.speak = (utterance) => {
  if (window.__keepSpoken) window.__spoken.push(utterance.text);
  setTimeout(() => utterance.dispatchEvent(new Event('end')), 0);
};
// An announcement file (the display marks it with its words) is 'played' at once.
window.__realPlay = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  if (!this.dataset.text) return window.__realPlay.call(this);
  if (window.__keepSpoken) window.__spoken.push(this.dataset.text);
  setTimeout(() => this.dispatchEvent(new Event('ended')), 0);
  return Promise.resolve();
};
"""

LANDSCAPE = {"width": 1920, "height": 1080}
PORTRAIT = {"width": 1080, "height": 1920}


class CheckedBrowser:
    """The browser, with every page's uncaught script errors collected: the test fails on any."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self.errors: list[str] = []

    async def new_page(self, **options: Any) -> Page:
        # Playwright's wait_for_function evaluates its string, which the pages' Content-Security-
        # Policy (no 'unsafe-eval') refuses; tests/e2e/test_csp.py loads every page with it on.
        options.setdefault("bypass_csp", True)
        page = await self._browser.new_page(**options)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page


@pytest.fixture
async def browser() -> AsyncIterator[CheckedBrowser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        checked = CheckedBrowser(chromium)
        try:
            yield checked
        finally:
            await chromium.close()
        assert not checked.errors, "uncaught errors in the pages:\n" + "\n".join(checked.errors)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


OpenDisplay = Callable[..., Awaitable[Page]]


@pytest.fixture
def open_display(browser: CheckedBrowser) -> OpenDisplay:
    """Open an office's display page and wait until it is live on the websocket."""

    async def open_(
        server: LiveServer,
        office: Office,
        *,
        viewport: dict[str, int] = LANDSCAPE,
        init_script: str = "",
        query: str = "",
        route_socket: Callable[[WebSocketRoute], Any] | None = None,
        wait_live: bool = True,
    ) -> Page:
        page = await browser.new_page(viewport=viewport)  # type: ignore[arg-type]
        await page.add_init_script(SPEECH_STUB + init_script)
        if route_socket is not None:
            await page.route_web_socket("**/lobby?*", route_socket)
        url = f"{server.url}/display/?office={office.id}&token={office.token('display')}{query}"
        await page.goto(url)
        if wait_live:
            await page.wait_for_function(
                "document.body.dataset.connection === 'live'", timeout=10_000
            )
        return page

    return open_


class Lobby:
    """The lobby API as the tests drive it: issue tickets, call them at counters."""

    def __init__(self, server: LiveServer, office: Office) -> None:
        self.server = server
        self.office = office

    async def issue(self, prefix: str = "A", **extra: Any) -> dict[str, Any]:
        async with self.server.client(self.office.token("kiosk")) as client:
            response = await client.post(
                f"/offices/{self.office.id}/tickets",
                json={"category": self.office.category(prefix), **extra},
            )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def call_next(self, counter_label: str) -> dict[str, Any]:
        async with self.server.client(self.office.token("counter")) as client:
            response = await client.post(
                f"/counters/{self.office.counter(counter_label)}/call-next"
            )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def act(self, ticket_id: str, step: str) -> dict[str, Any]:
        async with self.server.client(self.office.token("counter")) as client:
            response = await client.post(f"/tickets/{ticket_id}/{step}")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def lobby_for() -> Callable[[LiveServer, Office], Lobby]:
    """``lobby_for(server, office)``: the lobby API of an office through a given server."""
    return Lobby
