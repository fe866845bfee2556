"""The kiosk in every language: the choice reaches the ticket and its status page, and every
screen fits the kiosk's display without scrolling."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from app.services import admin
from app.services.uow import UnitOfWork
from app.storage.tables import Office as OfficeRow
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

I18N = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"
LANGUAGES = json.loads((I18N / "languages.json").read_text(encoding="utf-8"))
PHONE = {"width": 390, "height": 844}
KIOSK_VIEWPORTS = [
    {"width": 1024, "height": 768},
    {"width": 1280, "height": 800},
    {"width": 1080, "height": 1920},
]

FITS = """() => {
  const d = document.documentElement;
  return {scrollHeight: d.scrollHeight, innerHeight, scrollWidth: d.scrollWidth, innerWidth,
          clipped: [...document.querySelectorAll(
                      '.category, .ticket, .lang, .priority, .done .btn')]
            .filter(e => e.offsetParent && (e.scrollHeight > e.clientHeight + 1
                                             || e.scrollWidth > e.clientWidth + 1))
            .map(e => e.className + ': ' + e.textContent.trim().slice(0, 40))};
}"""


# Two more categories with long names: five in all, as a city hall's lobby has.
MORE_CATEGORIES = [
    ("D", "税の証明（課税証明書・納税証明書）", "Tax certificates (income and tax payment)"),
    ("E", "国民健康保険・国民年金の手続", "National Health Insurance and National Pension"),
]


async def add_categories(server: LiveServer, office: Office) -> None:
    resources = server.app.state.resources
    async with resources.sessionmaker() as session:
        uow = UnitOfWork(session, clock=resources.clock, settings=server.settings)
        row = await session.get(OfficeRow, office.id)
        assert row is not None
        for prefix, name_ja, name_en in MORE_CATEGORIES:
            await admin.create_category(uow, row, prefix=prefix, name_ja=name_ja, name_en=name_en)
        await uow.commit()


def catalogue(code: str) -> dict[str, str]:
    return dict(json.loads((I18N / f"{code}.json").read_text(encoding="utf-8")))


async def fits(page: Page) -> dict[str, Any]:
    box = dict(await page.evaluate(FITS))
    assert box["scrollHeight"] <= box["innerHeight"], box
    assert box["scrollWidth"] <= box["innerWidth"], box
    assert box["clipped"] == [], box
    return box


async def test_a_ticket_taken_in_vietnamese_has_a_vietnamese_status_page(
    server: LiveServer, office: Office, browser: Any, artifacts: Path
) -> None:
    vi = catalogue("vi")
    kiosk = await browser.new_page(viewport={"width": 1280, "height": 800})
    await kiosk.goto(f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}")
    await kiosk.wait_for_selector("button.category >> nth=2")
    assert await kiosk.get_attribute("html", "lang") == "ja"
    assert await kiosk.text_content("h1.prompt") == "ご用件をお選びください"
    assert await kiosk.locator(".lang").all_text_contents() == [e["name"] for e in LANGUAGES]

    await kiosk.click("button.lang[data-lang='vi']")
    await kiosk.wait_for_function("document.documentElement.lang === 'vi'")
    assert await kiosk.text_content("#start h1") == vi["kiosk.choose"]
    assert await kiosk.get_attribute("button.lang[data-lang='vi']", "aria-pressed") == "true"
    assert await kiosk.title() == vi["kiosk.title"]
    await kiosk.screenshot(path=artifacts / "kiosk-start-vi.png")

    await kiosk.click(f"button.category[data-category='{office.category('A')}']")
    await kiosk.wait_for_selector("#issued:not([hidden])")
    assert await kiosk.text_content("#issued h1") == vi["kiosk.issued"]
    assert await kiosk.text_content("#done") == vi["kiosk.done"]
    src = await kiosk.get_attribute("#ticket-qr", "src") or ""
    ticket_id = src.split("/")[-2]
    await kiosk.screenshot(path=artifacts / "kiosk-issued-vi.png")

    # The next resident starts in Japanese.
    await kiosk.click("#done")
    await kiosk.wait_for_function("document.documentElement.lang === 'ja'")

    async with server.client(office.token("counter")) as desk:
        board = (await desk.get(f"/counters/{office.counter('2')}")).json()
    ticket = next(t for t in board["waiting"] if t["id"] == ticket_id)
    key = src.split("key=")[1].split("&")[0]
    phone = await browser.new_page(viewport=PHONE)
    await phone.add_init_script("window.buzz = []; navigator.vibrate = (p) => buzz.push(p) > 0;")
    await phone.goto(f"{server.url}/status/?office={office.id}&ticket={ticket['id']}&key={key}")
    await phone.wait_for_function("document.body.dataset.status === 'waiting'")
    assert await phone.get_attribute("html", "lang") == "vi"
    assert await phone.text_content("#status") == vi["status.state.waiting"]
    assert await phone.text_content(".note") == vi["status.note"]
    assert await phone.text_content("#ahead-text") == "Có 0 người trước bạn"
    # Nobody ahead: near. Without an e-mail the page alerts once: title, vibration (and a tone).
    assert await phone.title() == vi["status.near_title"].format(number=ticket["number"])
    assert await phone.text_content("#near") == vi["status.near"]
    assert await phone.evaluate("buzz.length") == 1
    await phone.fill("#notify-email", "resident@example.jp")
    await phone.click("#notify button")
    await phone.wait_for_selector("#notify-saved:not([hidden])")
    assert await phone.text_content("#notify-saved") == vi["status.notify.saved"]

    await phone.screenshot(path=artifacts / "status-waiting-vi.png", full_page=True)
    async with server.client(office.token("counter")) as desk:
        called = await desk.post(f"/counters/{office.counter('2')}/call-next")
    assert called.json()["id"] == ticket_id
    await phone.reload()
    await phone.wait_for_function("document.body.dataset.status === 'called'")
    assert await phone.text_content("#call-text") == "Vui lòng đến Quầy số 2"
    assert await phone.get_attribute("html", "lang") == "vi"


@pytest.mark.parametrize("viewport", KIOSK_VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
async def test_the_kiosk_fits_its_screen_in_every_language(
    server: LiveServer, office: Office, browser: Any, artifacts: Path, viewport: dict[str, int]
) -> None:
    await add_categories(server, office)
    kiosk = await browser.new_page(viewport=viewport)
    await kiosk.goto(f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}")
    await kiosk.wait_for_selector("button.category >> nth=4")
    size = f"{viewport['width']}x{viewport['height']}"
    for language in LANGUAGES:
        code = language["code"]
        await kiosk.click(f"button.lang[data-lang='{code}']")
        await kiosk.wait_for_function(
            f"document.querySelector(\"button.lang[data-lang='{code}']\")"
            ".getAttribute('aria-pressed') === 'true'"
        )
        assert await kiosk.get_attribute("html", "lang") == language["lang"]
        await fits(kiosk)
        await kiosk.click("label.priority")
        await kiosk.click(f"button.category[data-category='{office.category('B')}']")
        await kiosk.wait_for_selector("#issued:not([hidden])")
        await kiosk.wait_for_function(
            "(() => { const img = document.getElementById('ticket-qr');"
            " return img.complete && img.naturalWidth > 0; })()"
        )
        if code in ("ne", "vi"):
            await kiosk.screenshot(path=artifacts / f"kiosk-issued-{code}-{size}.png")
        await fits(kiosk)
        await kiosk.click("#done")
        await kiosk.wait_for_selector("#start:not([hidden])")
        if code in ("ne", "vi"):
            await kiosk.click(f"button.lang[data-lang='{code}']")
            await kiosk.screenshot(path=artifacts / f"kiosk-start-{code}-{size}.png")
