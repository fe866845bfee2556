"""axe-core on every page a resident or a member of staff uses: no serious or critical
violation (names and labels, contrast, the page's language, headings)."""

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.e2e.test_appointment_pages import book_on_page, open_day, open_hours
from tests.e2e.test_console import demo, sign_in
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

AXE = Axe()
PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1280, "height": 800}


async def violations(page: Page, where: str) -> list[str]:
    """The serious and critical violations on the page as it is now, one line per element."""
    # axe is injected as a script: these pages are opened with their policy bypassed (the
    # browser fixture's default), as every test but test_csp does.
    results = await AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            found.append(f"{where}: {violation['id']} ({violation['impact']}) {node['target']}")
    return found


async def no_h1(page: Page, where: str) -> list[str]:
    visible = await page.evaluate(
        "[...document.querySelectorAll('h1')]"
        ".some(h => h.offsetParent !== null && h.textContent.trim())"
    )
    return [] if visible else [f"{where}: no visible h1"]


async def test_resident_pages_and_lobby_screens_pass_axe(
    server: LiveServer, office: Office, browser: Any, open_display: Any, lobby_for: Any
) -> None:
    lobby = lobby_for(server, office)
    for prefix in "ABC":
        await lobby.issue(prefix)
    issued = await lobby.issue("A")
    found: list[str] = []

    display = await open_display(server, office)
    called = await lobby.call_next("1")
    await lobby.act(called["id"], "start")
    await lobby.call_next("4")
    await display.wait_for_function("document.querySelector('#calls li:not(.is-empty)')")
    found += await violations(display, "display")
    found += await no_h1(display, "display")

    kiosk = await browser.new_page(viewport=KIOSK)
    await kiosk.goto(f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}")
    await kiosk.wait_for_selector("button.category >> nth=2")
    for code in ("ja", "ne"):
        await kiosk.click(f"button.lang[data-lang='{code}']")
        found += await violations(kiosk, f"kiosk start {code}")
    found += await no_h1(kiosk, "kiosk")
    await kiosk.click(f"button.category[data-category='{office.category('B')}']")
    await kiosk.wait_for_selector("#issued:not([hidden])")
    found += await violations(kiosk, "kiosk issued")
    await kiosk.click("#done")
    await kiosk.click("#appointment")
    await kiosk.fill("#checkin-code", "ZZZZZ-ZZZZZ")
    await kiosk.press("#checkin-code", "Enter")
    await kiosk.wait_for_selector("#checkin-error:not([hidden])")
    found += await violations(kiosk, "kiosk check-in")
    found += await no_h1(kiosk, "kiosk check-in")

    await open_hours(server, office)
    booking = await browser.new_page(viewport=PHONE)
    code = await book_on_page(booking, server, office, await open_day(server, office))
    found += await violations(booking, "booking page booked")
    found += await no_h1(booking, "booking page")
    await booking.fill("#lookup-code", code)
    await booking.press("#lookup-code", "Enter")
    await booking.wait_for_selector("#move-slot option", state="attached")
    found += await violations(booking, "booking page looked up")

    terminal = await browser.new_page(viewport={"width": 1366, "height": 900})
    await terminal.goto(
        f"{server.url}/counter/?counter={office.counter('3')}&token={office.token('counter')}"
    )
    await terminal.wait_for_selector("[data-action='call-next']:not([disabled])")
    await terminal.keyboard.press("n")
    await terminal.wait_for_selector("#ticket:not([data-status='none'])")
    found += await violations(terminal, "counter")
    found += await no_h1(terminal, "terminal")

    phone = await browser.new_page(viewport=PHONE)
    await phone.goto(issued["status_url"])
    await phone.wait_for_function("document.body.dataset.status === 'waiting'")
    found += await violations(phone, "status waiting")
    found += await no_h1(phone, "phone")
    await lobby.call_next("2")
    await phone.reload()
    await phone.wait_for_function("document.body.dataset.status === 'called'")
    found += await violations(phone, "status called")

    assert found == [], "\n".join(found)


async def test_the_console_passes_axe_for_a_supervisor(
    server: LiveServer, office: Office, browser: Any, artifacts: Path
) -> None:
    console = await browser.new_page(viewport={"width": 1440, "height": 900})
    await console.goto(f"{server.url}/console/")
    await console.wait_for_selector("#signin:not([hidden])")
    found = await violations(console, "console sign-in")
    found += await no_h1(console, "console sign-in")
    await sign_in(console, demo(office, "supervisor"))
    await console.wait_for_selector("body[data-ready]", timeout=10_000)
    await console.wait_for_timeout(500)  # the board's lists arrive after the page is ready
    found += await violations(console, "console supervisor")
    found += await no_h1(console, "console supervisor")
    await console.click("#stats-link")
    await console.wait_for_selector("body[data-state='ready'] #chart", timeout=10_000)
    found += await violations(console, "console statistics")
    found += await no_h1(console, "console statistics")
    await console.screenshot(path=artifacts / "console-supervisor-axe.png", full_page=True)
    assert found == [], "\n".join(found)
