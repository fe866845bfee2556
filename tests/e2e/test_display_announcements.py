"""The display says each call with the server's audio files: two quick calls one after the other,
never overlapping, a recall said again, the words on screen, the volume kept per display, and
the chime when a file cannot be had."""

from typing import Any

import pytest
from playwright.async_api import Route

from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

# A fake sink: every play is logged (what, when it started and ended) and lasts 300 ms.
FAKE_SINK = """
window.__played = [];
window.__fetched = [];
const realFetch = window.fetch.bind(window);
window.fetch = async (url, options) => {
  const response = await realFetch(url, options);
  const name = String(url);
  if (name.includes('/announcements/')) window.__fetched.push([name, response.status]);
  return response;
};
HTMLMediaElement.prototype.play = function () {
  const entry = {
    what: this.dataset.text ? `${this.dataset.lang}: ${this.dataset.text}` : 'chime',
    blob: this.src.startsWith('blob:'),
    volume: this.volume,
    start: performance.now(),
    end: null,
  };
  window.__played.push(entry);
  setTimeout(() => { entry.end = performance.now(); this.dispatchEvent(new Event('ended')); }, 300);
  return Promise.resolve();
};
"""


async def played(page: Any, count: int) -> list[dict[str, Any]]:
    await page.wait_for_function(
        f"window.__played.length >= {count} && window.__played.every(p => p.end !== null)",
        timeout=20_000,
    )
    return list(await page.evaluate("window.__played"))


async def test_two_quick_calls_play_in_order_and_a_recall_repeats(
    server: LiveServer, office: Office, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    english = await lobby.issue("A", language="en")
    await lobby.issue("B")
    await lobby.issue("C")
    page = await open_display(server, office, init_script=FAKE_SINK, query="&volume=60")

    # Two calls in the same instant, at two counters.
    await lobby.call_next("1")
    await lobby.call_next("3")
    first = [
        "chime",
        "ja: エー の 1番の方、1番窓口へお越しください",
        "en: Number A 1, please come to counter 1",
        "chime",
        "ja: ビー の 1番の方、3番窓口へお越しください",
    ]
    log = await played(page, 5)
    assert [p["what"] for p in log] == first
    # One after the other, never talking over each other.
    assert all(b["start"] >= a["end"] for a, b in zip(log, log[1:], strict=False))
    # The server's files, fetched with the display's token, at this display's volume.
    assert all(p["blob"] for p in log if p["what"] != "chime")
    assert {status for _, status in await page.evaluate("window.__fetched")} == {200}
    assert {p["volume"] for p in log} == {0.6}
    # The words of the latest call are on the screen too.
    caption = await page.text_content("#announce-text")
    assert caption is not None and "ビー の 1番の方" in caption
    assert await page.is_visible("#announce-text")

    # A recall is said again, whole.
    await lobby.act(english["id"], "recall")
    log = await played(page, 8)
    assert [p["what"] for p in log[5:]] == ["chime", *first[1:3]]

    # The volume slider is kept for this display.
    await page.fill("#volume", "30")
    await page.dispatch_event("#volume", "input")
    assert await page.evaluate("localStorage.getItem('madoguchi.display.volume')") == "30"

    # A file that cannot be had: the chime again, the words still on the screen.
    async def fail(route: Route) -> None:
        await route.fulfill(status=503, body="")

    await page.route("**/announcements/**", fail)
    await lobby.call_next("4")
    log = await played(page, 10)
    assert [p["what"] for p in log[8:]] == ["chime", "chime"]
    assert {p["volume"] for p in log[8:]} == {0.3}
    caption = await page.text_content("#announce-text")
    assert caption is not None and "シー の 1番の方、4番窓口へ" in caption
