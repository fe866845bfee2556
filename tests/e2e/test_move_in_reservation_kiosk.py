"""引越しワンストップ at the kiosk: a resident whose move was announced on マイナポータル types the
reservation number, gets the 住民異動 ticket, and the 転入届 waits pre-filled for the counter; a
reservation past its last valid day is refused in Japanese and English (bring the paper 転出証明書).
The screens pass axe."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_move_in_reservations import reservation, reserve, today
from tests.e2e.conftest import LANDSCAPE, CheckedBrowser
from tests.e2e.test_accessibility import no_h1, violations
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_the_kiosk_takes_a_reservation_number_and_refuses_an_expired_one(
    browser: CheckedBrowser, server: LiveServer, office: Office, lobby_for: Any, artifacts: Path
) -> None:
    valid = (await reserve(server, office, reservation(office, "MP-KIOSK"))).json()
    expired = (
        await reserve(
            server,
            office,
            reservation(office, "MP-LATE", move_out_day=today() - timedelta(days=45)),
        )
    ).json()
    kiosk = await browser.new_page(viewport=LANDSCAPE)
    await kiosk.goto(f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}")
    await kiosk.wait_for_selector("button.category")
    label = await kiosk.inner_text("#move-in")
    assert "転入予約の方" in label and "Move-in reservation" in label
    await kiosk.click("#move-in")
    await kiosk.wait_for_selector("#checkin:not([hidden])")
    assert "転入予約番号" in await kiosk.inner_text("#checkin-label")
    found = await violations(kiosk, "kiosk move-in") + await no_h1(kiosk, "kiosk move-in")

    await kiosk.fill("#checkin-code", expired["number"])
    await kiosk.press("#checkin-code", "Enter")
    await kiosk.wait_for_selector("#checkin-error:not([hidden])")
    refusal = await kiosk.inner_text("#checkin-error")
    assert "転出証明書" in refusal and "move-out certificate" in refusal
    assert expired["last_valid_day"] in refusal
    found += await violations(kiosk, "kiosk move-in refused")
    await kiosk.screenshot(path=artifacts / "kiosk-move-in-expired.png")

    await kiosk.fill("#checkin-code", valid["number"])
    await kiosk.press("#checkin-code", "Enter")
    await kiosk.wait_for_selector("#issued:not([hidden])")
    number = (await kiosk.inner_text("#ticket-number")).strip()
    assert number.startswith("A"), number
    found += await violations(kiosk, "kiosk move-in ticket")
    await kiosk.screenshot(path=artifacts / "kiosk-move-in-ticket.png")
    assert found == []
    async with server.client(office.token("counter")) as counter:
        shown = (await counter.get(f"/move-in-reservations/{valid['number']}")).json()
        assert shown["status"] == "checked_in"
    async with server.client(office.token("operator")) as operator:
        filed = (await operator.get(f"/applications/{shown['application_id']}")).json()
    assert (filed["procedure"], filed["channel"]) == ("resident.move_in", "online")
    assert filed["ticket_id"] == shown["ticket_id"]
    called = await lobby_for(server, office).call_next("1")  # the only ticket waiting
    assert (called["id"], called["number"]) == (shown["ticket_id"], number)
    assert browser.errors == []
