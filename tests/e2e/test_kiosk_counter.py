"""The kiosk, the resident's status page and the counter terminal in a real browser."""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from app.api.qr import qr_svg
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


async def test_kiosk_issues_a_ticket_with_its_qr_code_and_the_status_page_follows_it(
    server: LiveServer, office: Office, browser: Any, lobby_for: Any, artifacts: Path
) -> None:
    lobby = lobby_for(server, office)
    await lobby.issue("A")
    await lobby.issue("A")
    kiosk = await browser.new_page(viewport={"width": 1280, "height": 1024})
    token = office.token("kiosk")
    await kiosk.goto(f"{server.url}/kiosk/?office={office.id}&token={token}&reset=4")
    await kiosk.wait_for_selector("button.category >> nth=2")
    assert await kiosk.locator("button.category .prefix").all_text_contents() == ["A", "B", "C"]
    await kiosk.screenshot(path=artifacts / "kiosk-start.png")

    await kiosk.click("label.priority")
    await kiosk.click(f"button.category[data-category='{office.category('A')}']")
    await kiosk.wait_for_selector("#issued:not([hidden])")
    assert await kiosk.text_content("#ticket-number") == "A-003"
    assert await kiosk.text_content("#ticket-ahead") == "0"  # priority: called before
    await kiosk.wait_for_function(
        "(() => { const img = document.getElementById('ticket-qr');"
        " return img.complete && img.naturalWidth > 0; })()"
    )
    await kiosk.screenshot(path=artifacts / "kiosk-issued.png")

    # The QR code encodes the ticket's status page.
    qr_url = urlparse(await kiosk.get_attribute("#ticket-qr", "src") or "")
    ticket_id = qr_url.path.split("/")[-2]
    key = parse_qs(qr_url.query)["key"][0]
    assert parse_qs(qr_url.query)["office"] == [office.id]
    status_url = f"{server.url}/status/?office={office.id}&ticket={ticket_id}&key={key}"
    async with server.client() as anonymous:
        svg = await anonymous.get(f"/tickets/{ticket_id}/qr.svg", params={"key": key})
        assert svg.status_code == 200
        assert svg.headers["content-type"] == "image/svg+xml"
        assert svg.content == qr_svg(status_url)
        wrong = await anonymous.get(f"/tickets/{ticket_id}/qr.svg", params={"key": "nope"})
        assert wrong.status_code == 404
        assert wrong.headers["content-type"] == "application/problem+json"

    # After a few seconds the kiosk is ready for the next resident.
    await kiosk.wait_for_selector("#start:not([hidden])", timeout=8000)
    assert not await kiosk.is_checked("#priority")

    phone = await browser.new_page(viewport=PHONE)
    await phone.goto(status_url)
    await phone.wait_for_function("document.body.dataset.status === 'waiting'")
    assert await phone.text_content("#number") == "A-003"
    assert await phone.text_content("#position") == "1"
    await phone.screenshot(path=artifacts / "status-waiting.png", full_page=True)

    await lobby.call_next("2")
    await phone.reload()
    await phone.wait_for_function("document.body.dataset.status === 'called'")
    assert await phone.text_content("#call-text") == "2番窓口へお越しください"
    assert await phone.get_attribute("html", "lang") == "ja"
    await phone.screenshot(path=artifacts / "status-called.png", full_page=True)


async def test_counter_terminal_calls_the_next_ticket_and_the_display_shows_it(
    server: LiveServer,
    office: Office,
    browser: Any,
    open_display: Any,
    lobby_for: Any,
    artifacts: Path,
) -> None:
    lobby = lobby_for(server, office)
    await lobby.issue("B")
    await lobby.issue("A")
    await lobby.issue("A", is_priority=True)
    await lobby.issue("C")
    display = await open_display(server, office)

    terminal = await browser.new_page(viewport={"width": 1366, "height": 900})
    # No live refresh for this terminal: lets the test change a ticket behind its back below.
    await terminal.route_web_socket("**/lobby?*", lambda ws: None)
    counter_url = (
        f"{server.url}/counter/?counter={office.counter('4')}&token={office.token('counter')}"
    )
    await terminal.goto(counter_url)
    await terminal.wait_for_selector("[data-action='call-next']:not([disabled])")
    assert await terminal.text_content("#counter-ja") == "4番窓口"
    waiting = await terminal.locator(".queue.is-mine .chip .num").all_text_contents()
    assert sorted(waiting) == ["A-001", "A-002", "B-001", "C-001"]

    await terminal.keyboard.press("n")  # priority first
    await terminal.wait_for_function("document.getElementById('number').textContent === 'A-002'")
    await display.wait_for_function(
        "document.getElementById('hero-number').textContent === 'A-002'", timeout=2000
    )
    assert await display.text_content("#hero-counter") == "4"
    assert "A-002" in (await terminal.text_content("#message") or "")

    await terminal.click("[data-action='start']")
    await terminal.wait_for_selector("#ticket[data-status='serving']")
    await terminal.screenshot(path=artifacts / "counter-terminal.png", full_page=True)

    # Finished elsewhere meanwhile: the terminal's Finish is refused, and it says why.
    current = await terminal.evaluate("document.getElementById('number').textContent")
    assert current == "A-002"
    async with server.client(office.token("counter")) as desk:
        board = (await desk.get(f"/counters/{office.counter('4')}")).json()
        await desk.post(f"/tickets/{board['current']['id']}/finish")
    await terminal.keyboard.press("f")
    await terminal.wait_for_selector("#message:not([hidden])[data-kind='error']")
    assert "cannot finish a ticket that is done" in (await terminal.text_content("#message") or "")
    await terminal.wait_for_selector("#ticket[data-status='none']")

    # Transfer: the next resident (B-001, the oldest) goes to category C instead.
    await terminal.keyboard.press("n")
    await terminal.wait_for_function("document.getElementById('number').textContent === 'B-001'")
    await terminal.select_option("#transfer-to", office.category("C"))
    await terminal.click("[data-action='transfer']")
    await terminal.wait_for_selector("#ticket[data-status='none']")
    in_c = await terminal.locator(
        f".queue[data-category='{office.category('C')}'] .chip .num"
    ).all_text_contents()
    assert sorted(in_c) == ["B-001", "C-001"]


def ime_key(code: str, *, composing: bool = False) -> str:
    """A keydown as the Japanese IME sends it for a key it swallows: key "Process", keyCode 229,
    only the physical key (``code``) tells which one."""
    return (
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Process', "
        f"code: '{code}', keyCode: 229, isComposing: {'true' if composing else 'false'}, "
        "bubbles: true, cancelable: true}))"
    )


async def test_counter_terminal_calls_a_number_undoes_holds_pauses_and_the_display_follows(
    server: LiveServer,
    office: Office,
    browser: Any,
    open_display: Any,
    lobby_for: Any,
    artifacts: Path,
) -> None:
    lobby = lobby_for(server, office)
    for _ in range(3):
        await lobby.issue("A")
    display = await open_display(server, office)
    terminal = await browser.new_page(viewport={"width": 1366, "height": 1000})
    await terminal.goto(
        f"{server.url}/counter/?counter={office.counter('1')}&token={office.token('counter')}"
    )
    await terminal.wait_for_selector("[data-action='call-next']:not([disabled])")
    hero = "document.getElementById('hero-number').textContent"
    number = "document.getElementById('number').textContent"

    # Call a given number, out of turn.
    await terminal.fill("#call-number", "A-002")
    await terminal.press("#call-number", "Enter")
    await terminal.wait_for_function(f"{number} === 'A-002'")
    await display.wait_for_function(f"{hero} === 'A-002'", timeout=2000)

    # Undo the mistaken call: back to waiting, and the display withdraws it within a second.
    await terminal.keyboard.press("u")
    await terminal.wait_for_selector("#ticket[data-status='none']")
    await display.wait_for_function(f"{hero} !== 'A-002'", timeout=1000)
    waiting = await terminal.locator(".queue.is-mine .chip .num").all_text_contents()
    assert waiting == ["A-001", "A-002", "A-003"]

    # With the IME on: a key it composes is ignored, a key it swallows still works by its code.
    await terminal.evaluate(ime_key("KeyN", composing=True))
    await terminal.wait_for_timeout(500)
    assert await terminal.evaluate(number) == ""
    await terminal.evaluate(ime_key("KeyN"))
    await terminal.wait_for_function(f"{number} === 'A-001'")
    await display.wait_for_function(f"{hero} === 'A-001'", timeout=2000)
    await terminal.evaluate(ime_key("KeyS"))
    await terminal.wait_for_selector("#ticket[data-status='serving']")

    # Hold: off the counter and the display, listed to resume.
    await terminal.evaluate(ime_key("KeyH"))
    await terminal.wait_for_selector("#ticket[data-status='none']")
    await display.wait_for_function(f"{hero} === ''", timeout=1000)
    parked = terminal.locator("#parked li[data-number='A-001']")
    assert "保留中" in (await parked.text_content() or "")
    await terminal.screenshot(path=artifacts / "counter-held.png", full_page=True)
    await parked.locator("button").click()
    await terminal.wait_for_function(f"{number} === 'A-001'")
    await display.wait_for_function(f"{hero} === 'A-001'", timeout=2000)
    await terminal.keyboard.press("s")
    await terminal.wait_for_selector("#ticket[data-status='serving']")
    await terminal.keyboard.press("f")
    await terminal.wait_for_selector("#ticket[data-status='none']")

    # Pause: shown paused, no calls from the page or the API until resumed.
    await terminal.keyboard.press("p")
    await terminal.wait_for_selector("#paused:not([hidden])")
    await display.wait_for_selector("#paused:not([hidden])", timeout=2000)
    assert "1番窓口" in (await display.text_content("#paused-ja") or "")
    assert await terminal.is_disabled("[data-action='call-next']")
    await terminal.screenshot(path=artifacts / "counter-paused.png", full_page=True)
    async with server.client(office.token("counter")) as desk:
        refused = await desk.post(f"/counters/{office.counter('1')}/call-next")
        assert refused.status_code == 409
    await terminal.keyboard.press("p")
    await terminal.wait_for_selector("#paused[hidden]", state="attached")
    await display.wait_for_selector("#paused[hidden]", state="attached", timeout=2000)
    await terminal.keyboard.press("n")
    await terminal.wait_for_function(f"{number} === 'A-002'")

    # No-show asks first (the resident loses their place); later it can be recalled.
    terminal.once("dialog", lambda dialog: dialog.dismiss())
    await terminal.keyboard.press("a")
    await terminal.wait_for_timeout(300)
    assert await terminal.get_attribute("#ticket", "data-status") == "called"
    terminal.once("dialog", lambda dialog: dialog.accept())
    await terminal.keyboard.press("a")
    await terminal.wait_for_selector("#ticket[data-status='none']")
    absent = terminal.locator("#parked li[data-number='A-002']")
    assert "不在" in (await absent.text_content() or "")
    await absent.locator("button").click()
    await terminal.wait_for_function(f"{number} === 'A-002'")
    assert "再呼出 1 回" in (await terminal.text_content("#call-count") or "")
    await display.wait_for_function(f"{hero} === 'A-002'", timeout=2000)
