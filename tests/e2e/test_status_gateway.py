"""The status page offers a mobile number where the office has an SMS gateway (and a LINE id
for a LINE one), in the ticket's language, refuses a wrong number with its reason, and passes
axe; an office without a gateway offers e-mail only."""

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.settings import GatewaySettings, NotifySettings
from app.storage.db import create_engine
from tests.api.test_near_turn_notices import issue
from tests.e2e.test_accessibility import violations
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

I18N = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"
PHONE = {"width": 390, "height": 844}


def words(code: str) -> dict[str, str]:
    return dict(json.loads((I18N / f"{code}.json").read_text(encoding="utf-8")))


def with_gateway(server: LiveServer, office: Office, channel: str) -> None:
    """For the API only: the server's own notify job keeps its settings and sends nothing."""
    notify = NotifySettings(
        gateways={
            office.id: GatewaySettings(
                url="https://gateway.city.example/hook",
                secret="s",  # type: ignore[arg-type]
                channel=channel,  # type: ignore[arg-type]
            )
        }
    )
    server.app.state.settings = server.settings.model_copy(update={"notify": notify})


async def recipients(server: LiveServer) -> list[Any]:
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT channel, recipient FROM ticket_notice"))
            return list(found.all())
    finally:
        await engine.dispose()


async def test_the_status_page_offers_sms_where_the_office_has_a_gateway(
    server: LiveServer, office: Office, other_office: Office, browser: Any, artifacts: Path
) -> None:
    with_gateway(server, office, "sms")
    en = words("en")
    ticket = await issue(server, office, language="en")
    page = await browser.new_page(viewport=PHONE)
    await page.goto(ticket["status_url"])
    await page.wait_for_selector("#notify-gateway:not([hidden])")
    assert await page.text_content("#notify-to-label") == en["status.notify.sms_label"]
    assert await page.get_attribute("#notify-to", "type") == "tel"
    assert await page.is_visible("#notify")  # e-mail stays offered alongside
    assert await violations(page, "status with sms") == []

    await page.fill("#notify-to", "03-1234-5678")  # a landline
    await page.click("#notify-gateway button")
    await page.wait_for_selector("#error:not([hidden])")
    assert "070/080/090" in (await page.text_content("#error") or "")
    assert await page.is_visible("#notify-gateway")
    assert await recipients(server) == []

    await page.fill("#notify-to", "090-1234-5678")
    await page.click("#notify-gateway button")
    await page.wait_for_selector("#notify-saved:not([hidden])")
    assert await page.is_hidden("#notify-gateway") and await page.is_hidden("#error")
    assert await recipients(server) == [("sms", "+819012345678")]
    await page.screenshot(path=artifacts / "status-sms-saved-en.png", full_page=True)

    # Another office, no gateway: e-mail only.
    elsewhere = await issue(server, other_office, language="ja")
    other = await browser.new_page(viewport=PHONE)
    await other.goto(elsewhere["status_url"])
    await other.wait_for_selector("#notify:not([hidden])")
    assert await other.is_hidden("#notify-gateway")


async def test_a_line_gateway_asks_for_the_line_id(
    server: LiveServer, office: Office, browser: Any
) -> None:
    with_gateway(server, office, "line")
    ticket = await issue(server, office, language="ja")
    page = await browser.new_page(viewport=PHONE)
    await page.goto(ticket["status_url"])
    await page.wait_for_selector("#notify-gateway:not([hidden])")
    assert await page.text_content("#notify-to-label") == words("ja")["status.notify.line_label"]
    assert await page.get_attribute("#notify-to", "type") == "text"
    assert await violations(page, "status with line") == []
    await page.fill("#notify-to", "U4af4980629")
    await page.click("#notify-gateway button")
    await page.wait_for_selector("#notify-saved:not([hidden])")
    assert await recipients(server) == [("line", "U4af4980629")]
