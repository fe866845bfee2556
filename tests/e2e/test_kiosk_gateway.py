"""The kiosk asks for a mobile number (numeric keypad) where the office has an SMS gateway and for
a LINE id where it has a LINE one, in the chosen language; a wrong number is refused under the
field with the server's reason and no ticket is taken; a mobile number goes with the ticket and
is kept as E.164. An office without a gateway shows no field. The lobby snapshot the kiosk reads
says which channel, and nothing personal."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.settings import GatewaySettings, NotifySettings
from app.storage.db import create_engine
from tests.e2e.test_accessibility import violations
from tests.e2e.test_csp import no_violations, open_enforced
from tests.e2e.test_status_gateway import recipients, words
from tests.support import LiveServer, Office, make_settings, run_server, seed

pytestmark = pytest.mark.browser


def gateway_settings(clean_db: str, office: Office, channel: str) -> Any:
    notify = NotifySettings(
        every_s=0,  # the server's notify job is off: nothing leaves the test
        gateways={
            office.id: GatewaySettings(
                url="https://gateway.city.example/hook",
                secret="s",  # type: ignore[arg-type]
                channel=channel,  # type: ignore[arg-type]
            )
        },
    )
    return make_settings(clean_db, notify=notify)


@pytest.fixture
async def offices(clean_db: str) -> tuple[Office, Office]:
    return Office(await seed(clean_db, "431001")), Office(await seed(clean_db, "131211"))


@pytest.fixture
async def sms_server(clean_db: str, offices: tuple[Office, Office]) -> AsyncIterator[LiveServer]:
    async with run_server(gateway_settings(clean_db, offices[0], "sms")) as live:
        yield live


async def tickets(server: LiveServer) -> int:
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return int((await connection.scalar(text("SELECT count(*) FROM ticket"))) or 0)
    finally:
        await engine.dispose()


def kiosk_url(server: LiveServer, office: Office) -> str:
    return f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}"


async def test_the_kiosk_offers_sms_where_the_office_has_a_gateway(
    sms_server: LiveServer, offices: tuple[Office, Office], browser: Any
) -> None:
    office, other_office = offices
    server = sms_server
    async with server.client(office.token("kiosk")) as client:
        lobby = (await client.get(f"/offices/{office.id}/lobby")).json()
    assert lobby["office"]["gateway"] == "sms"
    assert "gateway.city.example" not in str(lobby) and "secret" not in str(lobby)

    page = await browser.new_page()
    await page.goto(kiosk_url(server, office))
    await page.wait_for_selector("#notify:not([hidden])")
    assert await page.text_content("#notify-to-label") == words("ja")["status.notify.sms_label"]
    assert await page.get_attribute("#notify-to", "type") == "tel"
    assert await page.get_attribute("#notify-to", "inputmode") == "tel"
    await page.click(".lang[data-lang=en]")
    en = words("en")
    await page.wait_for_function(
        "label => document.getElementById('notify-to-label').textContent === label",
        arg=en["status.notify.sms_label"],
    )
    assert await page.text_content("#notify-hint") == en["kiosk.notify_hint"]
    assert await violations(page, "kiosk with sms") == []

    # A landline: refused under the field with the status page's reason, no ticket taken.
    await page.fill("#notify-to", "03-1234-5678")
    await page.click(f"[data-category='{office.category('A')}']")
    await page.wait_for_selector("#notify-error:not([hidden])")
    assert "070/080/090" in (await page.text_content("#notify-error") or "")
    assert await page.get_attribute("#notify-to", "aria-invalid") == "true"
    assert await page.is_hidden("#issued") and await page.is_hidden("#error")
    assert await tickets(server) == 0 and await recipients(server) == []

    # A mobile number: the ticket is issued and its notice kept as E.164; the field is emptied.
    await page.fill("#notify-to", "090-1234-5678")
    await page.click(f"[data-category='{office.category('A')}']")
    await page.wait_for_selector("#issued:not([hidden])")
    assert await recipients(server) == [("sms", "+819012345678")]
    assert await page.input_value("#notify-to") == ""
    await page.click("#done")
    await page.wait_for_selector("#start:not([hidden])")
    assert await page.is_hidden("#notify-error")

    # Another office, no gateway: no field, and its ticket carries no notice.
    other = await browser.new_page()
    await other.goto(kiosk_url(server, other_office))
    await other.wait_for_selector(f"[data-category='{other_office.category('A')}']")
    assert await other.is_hidden("#notify")
    await other.click(f"[data-category='{other_office.category('A')}']")
    await other.wait_for_selector("#issued:not([hidden])")
    assert await recipients(server) == [("sms", "+819012345678")]
    async with server.client(other_office.token("kiosk")) as client:
        lobby = (await client.get(f"/offices/{other_office.id}/lobby")).json()
        assert lobby["office"]["gateway"] is None
        # Another municipality's kiosk learns nothing of this office's configuration.
        assert (await client.get(f"/offices/{office.id}/lobby")).status_code == 404

    # Under the kiosk's Content-Security-Policy, enforced: the field and its refusal work.
    enforced = await open_enforced(browser, kiosk_url(server, office))
    await enforced.wait_for_selector("#notify:not([hidden])")
    await enforced.fill("#notify-to", "0120-123-456")
    await enforced.click(f"[data-category='{office.category('A')}']")
    await enforced.wait_for_selector("#notify-error:not([hidden])")
    assert await recipients(server) == [("sms", "+819012345678")]
    await no_violations(enforced)


async def test_a_line_gateway_asks_the_kiosk_for_the_line_id(
    clean_db: str, offices: tuple[Office, Office], browser: Any
) -> None:
    office = offices[0]
    async with run_server(gateway_settings(clean_db, office, "line")) as server:
        page = await browser.new_page()
        await page.goto(kiosk_url(server, office))
        await page.wait_for_selector("#notify:not([hidden])")
        label = words("ja")["status.notify.line_label"]
        assert await page.text_content("#notify-to-label") == label
        assert await page.get_attribute("#notify-to", "type") == "text"
        assert await violations(page, "kiosk with line") == []
        await page.fill("#notify-to", "U4af4980629")
        await page.click(f"[data-category='{office.category('A')}']")
        await page.wait_for_selector("#issued:not([hidden])")
        assert await recipients(server) == [("line", "U4af4980629")]
