"""The lobby displays' controls: a supervisor's test button makes the display play the test
phrase through the call's audio (never a call), and during the office's quiet hours a call is
shown and flashed but not heard; once they are lifted, calls are heard again."""

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_accessibility import no_h1, violations
from tests.e2e.test_console import demo, sign_in
from tests.e2e.test_display_announcements import FAKE_SINK, played
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

JST = timezone(timedelta(hours=9))


def quiet_now() -> dict[str, str]:
    """A quiet range around the present minute, Japan time (never across midnight)."""
    now = datetime.now(JST)
    minute = now.hour * 60 + now.minute
    start, end = max(0, minute - 1), min(24 * 60, minute + 30)
    return {
        "start": f"{start // 60:02d}:{start % 60:02d}",
        "end": f"{end // 60:02d}:{end % 60:02d}",
    }


async def test_test_button_and_quiet_hours_on_a_display(
    server: LiveServer,
    office: Office,
    browser: Any,
    open_display: Any,
    lobby_for: Any,
    artifacts: Path,
) -> None:
    lobby = lobby_for(server, office)
    await lobby.issue("A")
    await lobby.issue("B")
    async with server.client(office.token("admin")) as admin:
        # Japanese, then やさしい日本語: the test phrase says both (Open JTalk, no network).
        chosen = await admin.put(
            f"/admin/offices/{office.id}/announce-languages", json={"languages": ["ja-easy"]}
        )
        assert chosen.status_code == 200, chosen.text
    page = await open_display(server, office, init_script=FAKE_SINK)

    # Quiet hours from the console page: the display shows its muted mark at once.
    console = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.goto(f"{server.url}/console/")
    await sign_in(console, demo(office, "supervisor"))
    await console.wait_for_selector("body[data-ready]", timeout=10_000)
    await console.click("#displays-link")
    await console.fill("#office-id", office.id)
    await console.click("#office-form button[type=submit]")
    await console.wait_for_selector(
        "body[data-state='ready'] #test-target option", state="attached"
    )
    found = await violations(console, "console displays")
    found += await no_h1(console, "console displays")
    assert found == [], "\n".join(found)

    quiet = quiet_now()
    await console.click("#quiet-add")
    await console.fill(".quiet-row .quiet-start", quiet["start"])
    await console.fill(
        ".quiet-row .quiet-end", quiet["end"] if quiet["end"] != "24:00" else "23:59"
    )
    await console.click("#quiet-save")
    await console.wait_for_function(
        "document.getElementById('quiet-result').textContent.includes('Saved')"
    )
    await page.wait_for_selector("#quiet:not([hidden])", timeout=10_000)
    assert quiet["start"] in (await page.text_content("#quiet") or "")

    # A call in quiet hours: on the screen, flashed, and not a sound.
    await lobby.call_next("1")
    await page.wait_for_function(
        "document.getElementById('announce-text').textContent.includes('1番窓口')"
    )
    assert await page.get_attribute("#announce-text", "class") == "announce-text flash"
    assert await page.text_content("#hero-number") == "A-001"
    # announce() decides synchronously: a sound would already be in the log.
    assert await page.evaluate("window.__played") == []

    # The test button: the test phrase, chime first, Japanese then やさしい日本語, quiet hours or
    # not; shown as a test; no number on the board for it.
    await console.click("#test-send")
    log = await played(page, 3)
    assert [p["what"] for p in log] == [
        "chime",
        "ja: これは呼び出し放送の試験です。",
        "ja-easy: これは よびだしの ほうそうの ためしです。",
    ]
    assert all(p["blob"] for p in log[1:])  # the server's files, as for a call
    caption = await page.text_content("#announce-text") or ""
    assert "試験放送 / Test announcement" in caption
    # The board: still the one call, nothing added by the test.
    assert await page.locator("#calls li.call:not(.is-empty)").count() == 0
    assert await page.text_content("#hero-number") == "A-001"
    # Pressed again at once: refused on the page, not queued on the display.
    await console.wait_for_function("!document.getElementById('test-send').disabled", timeout=5000)
    await console.click("#test-send")
    await console.wait_for_function(
        "document.getElementById('test-result').textContent.includes('試験放送は送信済み')"
    )
    await page.screenshot(path=artifacts / "display-quiet-hours.png")

    # Quiet hours lifted: the mark goes, and the next call is heard.
    await console.click(".quiet-row button")
    await console.click("#quiet-save")
    await page.wait_for_selector("#quiet", state="hidden", timeout=10_000)
    await lobby.call_next("3")
    log = await played(page, 5)
    assert [p["what"] for p in log[3:]] == ["chime", "ja: ビー の 1番の方、3番窓口へお越しください"]
