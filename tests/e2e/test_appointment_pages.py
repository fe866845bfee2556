"""来庁予約 and 窓口統計 in the browser: a resident books a slot on the public booking page, looks
it up and moves it by its code, and checks in with the code at the kiosk, getting a ticket; a
supervisor opens the console's statistics page and sees the API's figures, table and chart."""

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import LANDSCAPE, CheckedBrowser
from tests.e2e.test_console import demo, sign_in
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock

pytestmark = pytest.mark.browser

JST = timezone(timedelta(hours=9))
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=JST)
HOURS = {"opens_at": "09:00", "closes_at": "12:00", "slot_minutes": 30, "seats": 2}
CODE = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")


async def open_hours(server: LiveServer, office: Office, prefix: str = "A") -> None:
    async with server.client(office.token("admin")) as admin:
        response = await admin.put(
            f"/admin/offices/{office.id}/categories/{office.category(prefix)}/appointment-hours",
            json=HOURS,
        )
    assert response.status_code == 200, response.text


async def open_day(server: LiveServer, office: Office, prefix: str = "A") -> str:
    """The first day from tomorrow (the server's clock) with free slots of the category."""
    async with server.client() as anyone:
        for ahead in range(1, 15):
            day = (datetime.now(JST) + timedelta(days=ahead)).date().isoformat()
            response = await anyone.get(
                f"/public/offices/{office.id}/appointment-slots",
                params={"category": office.category(prefix), "day": day},
            )
            assert response.status_code == 200, response.text
            if response.json():
                return day
    raise AssertionError("no open day in the next two weeks")


async def book_on_page(page: Page, server: LiveServer, office: Office, day: str) -> str:
    """Book the first slot of ``day`` on the booking page; the confirmation code shown."""
    await page.goto(f"{server.url}/book/?office={office.id}&day={day}")
    slots = page.locator("#slots input[name=slot]")
    await slots.first.wait_for(state="attached")
    await slots.first.check()
    await page.fill("#initial", "Y")
    await page.click("#book")
    await page.wait_for_selector("#booked:not([hidden])")
    return (await page.inner_text("#booked-code")).strip()


@pytest.fixture
async def monday(clean_db: str) -> AsyncIterator[LiveServer]:
    async with run_server(make_settings(clean_db), clock=FakeClock(MONDAY)) as server:
        yield server


async def bookings(server: LiveServer, office: Office) -> list[dict[str, Any]]:
    async with server.client(office.token("counter")) as counter:
        response = await counter.get(
            f"/offices/{office.id}/appointments", params={"day": "2026-12-07"}
        )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_resident_books_on_the_page_and_checks_in_with_the_code_at_the_kiosk(
    browser: CheckedBrowser, monday: LiveServer, lobby_for: Any, artifacts: Path
) -> None:
    office = Office(await seed(monday.settings.database_url, "431001"))
    await open_hours(monday, office)
    page = await browser.new_page(viewport=LANDSCAPE)
    await page.goto(f"{monday.url}/book/?office={office.id}&day=2026-12-07")
    slots = page.locator("#slots input[name=slot]")
    await slots.nth(5).wait_for(state="attached")
    assert await slots.count() == 6  # 09:00 to 11:30, every 30 minutes
    assert "残り 2 (2 free)" in await page.locator("#slots .slot").nth(2).inner_text()
    await slots.nth(2).check()  # 10:00
    await page.fill("#initial", "ヤ")
    await page.click("#book")
    await page.wait_for_selector("#booked:not([hidden])")
    code = (await page.inner_text("#booked-code")).strip()
    assert CODE.match(code), code
    assert "10:00" in await page.inner_text("#booked-what")
    await page.screenshot(path=artifacts / "booking-page-booked.png", full_page=True)
    assert await page.locator("#booked-qr").evaluate(
        "img => img.complete ? img.naturalWidth > 0 : new Promise("
        "ok => img.addEventListener('load', () => ok(img.naturalWidth > 0)))"
    )
    # The slots refresh: the seat just taken is no longer free.
    await page.wait_for_selector("#slots .slot:nth-child(3):has-text('残り 1')")
    [booked] = await bookings(monday, office)
    assert (booked["initial"], booked["status"]) == ("ヤ", "booked")
    assert booked["starts_at"].startswith("2026-12-07T01:00:00")

    # Looked up by its code, the booking moves to another time of the day.
    await page.fill("#lookup-code", code.lower())
    await page.press("#lookup-code", "Enter")
    await page.wait_for_selector("#found:not([hidden])")
    assert "予約中 (booked)" in await page.inner_text("#found-what")
    await page.wait_for_selector("#move-slot option >> nth=5", state="attached")
    await page.select_option("#move-slot", index=5)  # 11:30
    await page.click("#move")
    await page.wait_for_selector("#found-what:has-text('11:30')")
    [moved] = await bookings(monday, office)
    assert moved["starts_at"].startswith("2026-12-07T02:30:00")

    kiosk = await browser.new_page(viewport=LANDSCAPE)
    await kiosk.goto(f"{monday.url}/kiosk/?office={office.id}&token={office.token('kiosk')}")
    await kiosk.wait_for_selector("button.category")
    assert "予約の方" in await kiosk.inner_text("#appointment")
    assert "I have an appointment" in await kiosk.inner_text("#appointment")
    await kiosk.click("#appointment")
    await kiosk.wait_for_selector("#checkin:not([hidden])")
    await kiosk.fill("#checkin-code", "ZZZZZ-ZZZZZ")
    await kiosk.press("#checkin-code", "Enter")
    await kiosk.wait_for_selector("#checkin-error:not([hidden])")
    await kiosk.fill("#checkin-code", code)
    await kiosk.press("#checkin-code", "Enter")
    await kiosk.wait_for_selector("#issued:not([hidden])")
    number = (await kiosk.inner_text("#ticket-number")).strip()
    await kiosk.screenshot(path=artifacts / "kiosk-appointment-ticket.png")
    assert number.startswith("A"), number
    [checked_in] = await bookings(monday, office)
    assert checked_in["status"] == "checked_in" and checked_in["ticket_id"]
    called = await lobby_for(monday, office).call_next("1")  # the only ticket waiting
    assert (called["id"], called["number"]) == (checked_in["ticket_id"], number)

    # The code now shows the booking as checked in, and it can no longer be moved.
    await page.press("#lookup-code", "Enter")
    await page.wait_for_selector("#found-what:has-text('受付済み')")
    assert await page.locator("#move-row").is_hidden()


async def test_a_supervisor_sees_the_days_statistics_as_the_api_gives_them(
    browser: CheckedBrowser, server: LiveServer, office: Office, lobby_for: Any, artifacts: Path
) -> None:
    lobby = lobby_for(server, office)
    for prefix in "AAB":
        await lobby.issue(prefix)
    called = await lobby.call_next("1")
    await lobby.act(called["id"], "start")
    await lobby.act(called["id"], "finish")
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.get("/lobby-stats")
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    totals = {row["category"]: row for row in rows if row["counter"] == "*"}
    assert totals["A"]["tickets"] == 2 and totals["A"]["served"] == 1

    page = await browser.new_page(viewport=LANDSCAPE)
    await page.goto(f"{server.url}/console/")
    await sign_in(page, demo(office, "supervisor"))
    await page.click("#stats-link")
    await page.wait_for_selector("body[data-state='ready']", timeout=10_000)
    assert await page.locator("#stats-body tr").count() == len(rows)
    await page.screenshot(path=artifacts / "console-statistics.png", full_page=True)
    for row in rows:
        cells = page.locator(
            f"#stats-body tr[data-category='{row['category']}'][data-counter='{row['counter']}'] td"
        )
        figures = [await cells.nth(i).inner_text() for i in range(3, 8)]
        expected = [row[k] for k in ("tickets", "served", "no_shows", "cancelled", "transfers")]
        assert figures == [str(n) for n in expected], row
    for category, row in totals.items():
        bar = page.locator(f"#chart svg g[data-category='{category}']")
        median = row["wait_median_s"]
        assert await bar.get_attribute("data-wait-median-s") == (
            "" if median is None else str(median)
        )
    csv_href = await page.get_attribute("#download-csv", "href")
    xlsx_href = await page.get_attribute("#download-xlsx", "href")
    assert csv_href and "format=csv" in csv_href and xlsx_href and "format=xlsx" in xlsx_href
    csv = await page.request.get(f"{server.url}{csv_href}")  # with the console's session
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len((await csv.text()).strip().splitlines()) == len(rows) + 1
