"""/docs and /redoc work on a LAN without internet: every file comes from this server, under the
pages' Content-Security-Policy."""

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route

from tests.e2e.conftest import LANDSCAPE, CheckedBrowser
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.support import LiveServer

pytestmark = pytest.mark.browser


async def offline_page(browser: CheckedBrowser, server: LiveServer) -> tuple[Page, list[str]]:
    """A page whose requests to any other host fail, as on a LAN without internet (each one is
    listed), with the policy enforced and its violations recorded."""
    page = await browser.new_page(viewport=LANDSCAPE, bypass_csp=False)
    await page.add_init_script(RECORD_VIOLATIONS)
    ours = urlsplit(server.url).netloc
    elsewhere: list[str] = []

    async def only_this_server(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == ours or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_this_server)
    return page, elsewhere


async def test_swagger_ui_lists_the_operations_without_internet(
    browser: CheckedBrowser, server: LiveServer
) -> None:
    page, elsewhere = await offline_page(browser, server)
    await page.goto(f"{server.url}/docs")
    await page.wait_for_selector(".opblock", timeout=15_000)
    assert await page.locator(".opblock").count() > 50
    claim = page.locator(".opblock-summary-path", has_text="/api/v1/work/claim")
    assert await claim.count() == 1
    assert (
        "Lease the next task you may take"
        in await page.locator(".opblock").filter(has=claim).inner_text()
    )
    assert elsewhere == []
    assert await page.evaluate("window.__violations") == []


async def test_redoc_renders_the_api_without_internet(
    browser: CheckedBrowser, server: LiveServer
) -> None:
    page, elsewhere = await offline_page(browser, server)
    await page.goto(f"{server.url}/redoc")
    operation = page.locator("h2", has_text="Lease the next task you may take")
    await operation.first.wait_for(timeout=20_000)
    assert await page.locator("[data-section-id^='operation/']").count() > 50
    assert await page.locator("h1", has_text="Madoguchi").count() >= 1
    assert elsewhere == []
    assert await page.evaluate("window.__violations") == []
