"""A plan of stops in the browser: the resident's phone shows where the ticket is now and the
counters to come; the lobby display names the next stop of a number that finished one."""

from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_the_status_page_and_the_display_show_the_next_stop_as_each_one_finishes(
    server: LiveServer, office: Office, browser: Any, open_display: Any, artifacts: Path
) -> None:
    display = await open_display(server, office)
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets",
                json={
                    "category": office.category("A"),
                    "then": [office.category("B"), office.category("C")],
                },
            )
        ).json()
    phone = await browser.new_page(viewport={"width": 390, "height": 844})
    await phone.goto(ticket["status_url"])
    await phone.wait_for_selector("#stops:not([hidden])")
    assert await phone.text_content("#stops") == "住民異動・証明 → 子育て・福祉 → その他の手続"

    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter('2')}/call-next")
        assert called.json()["number"] == ticket["number"]
        await counter.post(f"/tickets/{ticket['id']}/start")
        await counter.post(f"/tickets/{ticket['id']}/finish")
    await phone.reload()
    await phone.wait_for_function("document.body.dataset.status === 'waiting'")
    await phone.wait_for_selector("#stops:not([hidden])")
    assert await phone.text_content("#number") == ticket["number"]
    assert await phone.text_content("#stops") == "子育て・福祉 → その他の手続"
    await display.wait_for_selector("#moved:not([hidden])")
    assert await display.text_content("#moved-ja") == f"{ticket['number']} → 子育て・福祉"
    assert await display.text_content("#moved-en") == f"{ticket['number']} → Child & welfare"
    await display.screenshot(path=artifacts / "display-next-stop.png")
    async with server.client(office.token("counter")) as counter:
        again = await counter.post(f"/counters/{office.counter('3')}/call-next")
        assert again.json()["number"] == ticket["number"]
    # Called at the next stop: the notice gives way to the call.
    await display.wait_for_selector("#moved", state="hidden")
    assert await display.text_content("#hero-number") == ticket["number"]
    await phone.screenshot(path=artifacts / "status-plan-of-stops.png", full_page=True)


async def test_the_counter_shows_the_remaining_stops_and_skips_the_next_by_key(
    server: LiveServer, office: Office, browser: Any, artifacts: Path
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets",
                json={
                    "category": office.category("A"),
                    "then": [office.category("B"), office.category("C")],
                },
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('1')}/call-next")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(
        f"{server.url}/counter/?counter={office.counter('1')}&token={office.token('counter')}"
    )
    await page.wait_for_selector("#plan:not([hidden])")
    stops = page.locator("#plan-stops li")
    assert await stops.all_inner_texts() == [
        "B子育て・福祉Child & welfare",
        "Cその他の手続Other procedures",
    ]
    skip = page.get_by_role("button", name="次の窓口を省略")
    assert await skip.is_enabled()
    await page.keyboard.press("k")
    await page.wait_for_function("document.querySelectorAll('#plan-stops li').length === 1")
    assert await stops.all_inner_texts() == ["Cその他の手続Other procedures"]
    await page.screenshot(path=artifacts / "counter-plan-of-stops.png")
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/tickets/{ticket['id']}/start")
        finished = (await counter.post(f"/tickets/{ticket['id']}/finish")).json()
    assert finished["category_id"] == office.category("C")  # B was skipped
