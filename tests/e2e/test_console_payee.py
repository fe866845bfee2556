"""The work console offers the 公金受取口座 and then asks for no bank account."""

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.api.test_public_benefit_account import public_benefit_claim
from tests.api.test_work_queue import receive
from tests.e2e.test_console import demo, open_console
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser


async def test_choosing_the_public_benefit_account_sets_the_bank_account_aside(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    await receive(server, office, public_benefit_claim())
    page, _ = await open_console(browser, server, demo(office, "operator"))
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")
    choice = page.locator(".row[data-path='payee_account_kind'] select")
    assert await choice.input_value() == "public_benefit"
    for path in ("bank_account", "account_name_kana"):
        row = page.locator(f".row[data-path='{path}']")
        assert "na" in (await row.get_attribute("class") or "").split()
        assert await row.locator(".tag.cond").inner_text() == "該当なし"
    await page.screenshot(path=artifacts / "console-public-benefit-account.png")
    await choice.select_option("bank")
    bank = page.locator(".row[data-path='bank_account']")
    assert "na" not in (await bank.get_attribute("class") or "").split()
    assert await bank.locator(".tag.cond").inner_text() == "必須"
