"""Every page works under its Content-Security-Policy, in Chromium, with the policy enforced.

The other browser tests bypass the policy (Playwright's wait_for_function evaluates strings);
here each page is loaded as a resident's phone or a lobby screen would load it, any policy
violation the page reports is collected, and the page must come up and do its job.
"""

import asyncio

import pytest
from playwright.async_api import Locator, Page

from tests.e2e.conftest import LANDSCAPE, SPEECH_STUB, CheckedBrowser
from tests.e2e.test_appointment_pages import book_on_page, open_day, open_hours
from tests.e2e.test_console import demo, sign_in
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


async def open_enforced(browser: CheckedBrowser, url: str) -> Page:
    page = await browser.new_page(viewport=LANDSCAPE, bypass_csp=False)
    await page.add_init_script(SPEECH_STUB + RECORD_VIOLATIONS)
    response = await page.goto(url)
    assert (
        response is not None
        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    )
    return page


async def loaded(image: Locator, timeout_s: float = 10.0) -> bool:
    """Poll from Python: wait_for_function would evaluate a string, which the policy forbids."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await image.evaluate("img => img.complete && img.naturalWidth > 0"):
            return True
        await asyncio.sleep(0.1)
    return False


async def no_violations(page: Page) -> None:
    assert await page.evaluate("window.__violations") == []


async def test_every_page_runs_under_its_policy(
    browser: CheckedBrowser, server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()

    display = await open_enforced(
        browser, f"{server.url}/display/?office={office.id}&token={office.token('display')}"
    )
    await display.wait_for_selector("body[data-connection='live']", timeout=10_000)
    await no_violations(display)

    kiosk_page = await open_enforced(
        browser, f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}"
    )
    await kiosk_page.click(f"button.category[data-category='{office.category('A')}']")
    await kiosk_page.wait_for_selector("#issued:not([hidden])")
    qr = kiosk_page.locator("#ticket-qr")
    await qr.wait_for()
    # The kiosk sets the image's address when the ticket arrives; the picture loads afterwards.
    assert await loaded(qr), "the ticket's QR code never showed"
    await no_violations(kiosk_page)
    await kiosk_page.click("#done")
    await kiosk_page.click("#appointment")
    await kiosk_page.fill("#checkin-code", "ZZZZZ-ZZZZZ")
    await kiosk_page.press("#checkin-code", "Enter")
    await kiosk_page.wait_for_selector("#checkin-error:not([hidden])")
    await no_violations(kiosk_page)

    # The public booking page: slots, a booking, its code's QR code.
    await open_hours(server, office)
    booking = await open_enforced(browser, f"{server.url}/book/?office={office.id}")
    await booking.wait_for_selector("body[data-state='ready']", timeout=10_000)
    await no_violations(booking)
    await book_on_page(booking, server, office, await open_day(server, office))
    assert await loaded(booking.locator("#booked-qr")), "the booking's QR code never showed"
    await no_violations(booking)

    counter = await open_enforced(
        browser,
        f"{server.url}/counter/?counter={office.counter('4')}&token={office.token('counter')}",
    )
    await counter.wait_for_selector(".queue[data-category]", timeout=10_000)
    await no_violations(counter)

    phone = await open_enforced(browser, ticket["status_url"])
    await phone.wait_for_selector("body[data-status='waiting']", timeout=10_000)
    await no_violations(phone)

    # Staff sign in through the console's form (no token in the address), under the policy too.
    console = await open_enforced(browser, f"{server.url}/console/")
    await sign_in(console, demo(office, "supervisor"))
    await console.wait_for_selector("body[data-ready]", timeout=10_000)
    await no_violations(console)
    await console.click("#stats-link")
    await console.wait_for_selector("body[data-state='ready'] #chart svg", timeout=10_000)
    await no_violations(console)
    await console.goto(f"{server.url}/console/displays.html?office={office.id}")
    await console.wait_for_selector("body[data-state='ready'] #test-target", timeout=10_000)
    await no_violations(console)


async def test_a_page_cannot_be_framed(
    browser: CheckedBrowser, server: LiveServer, office: Office
) -> None:
    page = await browser.new_page(bypass_csp=False)
    await page.set_content(f'<iframe id="f" src="{server.url}/status/"></iframe>')
    frame = page.frame_locator("#f")
    await page.wait_for_timeout(1000)
    assert await frame.locator("body[data-status]").count() == 0
    assert await frame.locator("#number").count() == 0
