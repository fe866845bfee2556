"""The estimate report on the console's statistics page, in Chromium with the page's
Content-Security-Policy enforced: a supervisor sees each wait model's figures as the API gives
them, a line per model of the MAE by hour, and downloads the report as CSV; axe finds nothing
serious; a counter's session is refused the report."""

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CheckedBrowser
from tests.e2e.test_accessibility import no_h1, violations
from tests.e2e.test_console import demo, sign_in
from tests.e2e.test_csp import RECORD_VIOLATIONS, no_violations
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_a_supervisor_sees_and_downloads_the_estimate_report(
    browser: CheckedBrowser, server: LiveServer, office: Office, lobby_for: Any, artifacts: Path
) -> None:
    lobby = lobby_for(server, office)
    for prefix in "AAAB":
        await lobby.issue(prefix)
    for label in ("1", "2", "3"):
        await lobby.call_next(label)
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.get("/lobby-stats/estimates")
    assert response.status_code == 200, response.text
    report = response.json()
    assert {r["model"] for r in report["rows"]} == {m["name"] for m in report["models"]}
    assert report["hours"]

    page = await browser.new_page(viewport={"width": 1440, "height": 900}, bypass_csp=False)
    await page.add_init_script(RECORD_VIOLATIONS)
    await page.goto(f"{server.url}/console/")
    await sign_in(page, demo(office, "supervisor"))
    await page.click("#stats-link")
    await page.wait_for_selector("body[data-state='ready']", timeout=10_000)
    await no_violations(page)
    assert await page.locator("#estimates-body tr").count() == len(report["rows"])
    for row in report["rows"]:
        cells = page.locator(
            f"#estimates-body tr[data-category='{row['category']}'][data-model='{row['model']}'] td"
        )
        assert await cells.nth(3).inner_text() == str(row["estimates"])
        mae = row["estimate_mae_s"]
        assert await cells.nth(4).inner_text() == f"{mae // 60}:{mae % 60:02d}"
        assert ("★" in await cells.nth(2).inner_text()) == row["in_use"]
    # One line per model, a point per hour with the API's MAE.
    for model in report["models"]:
        points = page.locator(f"#estimates-chart g[data-model='{model['name']}'] circle")
        hours = [h for h in report["hours"] if h["model"] == model["name"]]
        assert await points.count() == len(hours)
        for index, hour in enumerate(hours):
            point = points.nth(index)
            assert await point.get_attribute("data-mae-s") == str(hour["estimate_mae_s"])
    await page.screenshot(path=artifacts / "console-estimates.png", full_page=True)
    href = await page.get_attribute("#download-estimates-csv", "href")
    assert href and "format=csv" in href and "/lobby-stats/estimates" in href
    csv = await page.request.get(f"{server.url}{href}")  # with the console's session
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len((await csv.text()).strip().splitlines()) == len(report["rows"]) + 1
    found = await violations(page, "console estimate report")
    found += await no_h1(page, "console estimate report")
    assert found == [], "\n".join(found)
    # A counter (no supervisor) is refused the report, with or without the page.
    async with server.client(office.token("counter")) as counter:
        refused = await counter.get("/lobby-stats/estimates")
    assert refused.status_code == 403
