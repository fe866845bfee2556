"""A plan of stops on the resident's phone: where the ticket is now and the counters to come."""

from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_the_status_page_shows_the_next_stop_as_each_one_finishes(
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
    await phone.screenshot(path=artifacts / "status-plan-of-stops.png", full_page=True)
