"""The console's 人員試算 page in Chromium: a supervisor runs the what-if and sees the months
and the plots, under the page's Content-Security-Policy, and the page passes axe."""

import pytest

from tests.e2e.conftest import LANDSCAPE, CheckedBrowser
from tests.e2e.test_accessibility import no_h1, violations
from tests.e2e.test_console import demo, sign_in
from tests.e2e.test_csp import loaded, no_violations, open_enforced
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_a_supervisor_runs_the_what_if_under_the_policy_and_it_passes_axe(
    browser: CheckedBrowser, server: LiveServer, office: Office
) -> None:
    page = await open_enforced(browser, f"{server.url}/console/")
    await sign_in(page, demo(office, "supervisor"))
    await page.wait_for_selector("body[data-ready]", timeout=10_000)
    await page.click("#whatif-link")
    await page.wait_for_selector("#whatif-form")
    await page.fill("#whatif-target", "0.98")
    await page.fill("#whatif-population", "3000")
    await page.fill("#whatif-seed", "5")
    await page.click("#whatif-run:enabled")
    await page.wait_for_selector("body[data-state='ready']", timeout=120_000)
    rows = page.locator("#whatif-body tr")
    assert await rows.count() == 13  # twelve months and the year
    assert (await rows.nth(3).locator("td").first.inner_text()) == "4月"
    shares = [await rows.nth(i).locator("td").nth(3).inner_text() for i in range(12)]
    assert all(float(share.rstrip("%")) >= 98.0 for share in shares), shares
    assert await page.get_attribute("#whatif-summary", "data-seed") == "5"
    assert "5" in await page.locator("#whatif-summary").inner_text()
    for plot in ("#plot-staff", "#plot-depth"):
        assert await page.locator(plot).is_visible()
        assert await loaded(page.locator(plot))
    assert await page.locator("#fit-panel").is_hidden()  # the default profile: nothing fitted
    await no_violations(page)
    # The same input again, with the event log as source: what was fitted is listed.
    await page.select_option("#whatif-source", "log")
    await page.click("#whatif-run:enabled")
    await page.wait_for_selector(
        "body[data-state='ready'] #fit-body tr[data-item='volume']", timeout=120_000
    )
    assert await page.locator("#fit-body tr[data-source='default']").count() > 0
    await no_violations(page)

    # axe needs the policy bypassed (it is injected as a script): the same page, same input.
    checked = await browser.new_page(viewport=LANDSCAPE)
    await checked.goto(f"{server.url}/console/")
    await sign_in(checked, demo(office, "supervisor"))
    await checked.wait_for_selector("body[data-ready]", timeout=10_000)
    await checked.goto(f"{server.url}/console/whatif.html?target=0.98&seed=5&population=3000")
    await checked.click("#whatif-run:enabled")
    await checked.wait_for_selector("body[data-state='ready']", timeout=120_000)
    found = await violations(checked, "what-if") + await no_h1(checked, "what-if")
    assert found == [], "\n".join(found)


async def test_a_vendor_operator_and_a_visitor_without_a_session_get_no_figures(
    browser: CheckedBrowser, server: LiveServer, office: Office
) -> None:
    page = await browser.new_page(viewport=LANDSCAPE)
    await page.goto(f"{server.url}/console/whatif.html")
    await page.wait_for_selector("#message:has-text('サインインしてください')")
    assert await page.locator("#whatif-run").is_disabled()

    await page.goto(f"{server.url}/console/")
    await sign_in(page, demo(office, "operator_vendor"))
    await page.wait_for_selector("body[data-ready]", timeout=10_000)
    assert await page.locator("#whatif-link").is_hidden()  # the board's links are supervisors'
    await page.goto(f"{server.url}/console/whatif.html?population=3000")
    await page.click("#whatif-run:enabled")
    await page.wait_for_selector("body[data-state='error']", timeout=30_000)
    assert "(role operator may not do this)" in await page.locator("#message").inner_text()
    assert await page.locator("#months-panel").is_hidden()
