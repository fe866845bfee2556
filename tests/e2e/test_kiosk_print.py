"""The paper ticket through the browser's print path: 58 mm and 80 mm receipt rolls."""

import re
import socket
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from app.settings import ReceiptPrinter
from tests.support import LiveServer, Office

pytestmark = pytest.mark.browser

MM = 96 / 25.4  # CSS pixels per millimetre
POINTS_PER_MM = 72 / 25.4
# (paper width, printable width in paper-NN.css: the roll less the page's side margins)
PAPERS = [(58, 48), (80, 72)]

PRINTED = """() => {
  const visible = (e) => e && e.offsetParent !== null && e.getBoundingClientRect().width > 0;
  const qr = document.getElementById('ticket-qr');
  const ticket = document.getElementById('ticket');
  return {
    number: visible(document.getElementById('ticket-number'))
      ? document.getElementById('ticket-number').textContent : null,
    category: document.getElementById('ticket-category').textContent,
    qr: visible(qr) && qr.complete && qr.naturalWidth > 0 ? qr.getBoundingClientRect().width : 0,
    ticketWidth: ticket.scrollWidth,
    pageWidth: document.documentElement.scrollWidth,
    innerWidth,
    buttons: [...document.querySelectorAll('button')].filter(visible).length,
  };
}"""


async def take_ticket(page: Page, office: Office) -> None:
    await page.click(f"button.category[data-category='{office.category('A')}']")
    await page.wait_for_selector("#issued:not([hidden])")
    await page.wait_for_function(
        "(() => { const img = document.getElementById('ticket-qr');"
        " return img.complete && img.naturalWidth > 0; })()"
    )


@pytest.mark.parametrize(("paper", "printable"), PAPERS, ids=["58mm", "80mm"])
async def test_the_ticket_prints_on_a_receipt_roll_with_number_and_qr_code(
    server: LiveServer, office: Office, browser: Any, artifacts: Path, paper: int, printable: int
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(
        f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}&paper={paper}"
    )
    await page.wait_for_selector("button.category >> nth=2")
    await take_ticket(page, office)
    assert await page.is_visible("#print")

    await page.emulate_media(media="print")
    await page.set_viewport_size({"width": round(printable * MM), "height": 800})
    printed = await page.evaluate(PRINTED)
    assert printed["number"] == "A-001"
    assert printed["category"] == "住民異動・証明"
    assert printed["buttons"] == 0  # nothing to tap on paper
    assert printed["pageWidth"] <= printed["innerWidth"], printed
    assert printed["ticketWidth"] <= printed["innerWidth"], printed
    # A QR code a phone reads off paper: at least 30 mm wide.
    assert 30 * MM <= printed["qr"] <= printable * MM, printed
    await page.screenshot(path=artifacts / f"ticket-print-{paper}mm.png", full_page=True)

    pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / f"ticket-{paper}mm.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    assert len(boxes) == 1, "the ticket takes more than one page"
    assert float(boxes[0][0]) == pytest.approx(paper * POINTS_PER_MM, abs=1)


async def test_a_kiosk_set_to_print_prints_each_ticket_once_its_qr_code_is_there(
    server: LiveServer, office: Office, browser: Any
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.add_init_script(
        "window.__printed = [];"
        "window.print = () => window.__printed.push("
        "  document.getElementById('ticket-qr').naturalWidth > 0"
        "  && document.getElementById('ticket-number').textContent);"
    )
    await page.goto(
        f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}&print=auto"
    )
    await page.wait_for_selector("button.category >> nth=2")
    await take_ticket(page, office)
    await page.wait_for_function("window.__printed.length === 1")
    assert await page.evaluate("window.__printed") == ["A-001"]
    assert not await page.is_visible("#print")  # printed already: no button to press twice

    plain = await browser.new_page(viewport={"width": 1280, "height": 800})
    kiosk_url = f"{server.url}/kiosk/?office={office.id}&token={office.token('kiosk')}"
    await plain.goto(f"{kiosk_url}&print=off")
    await plain.wait_for_selector("button.category >> nth=2")
    await take_ticket(plain, office)
    assert not await plain.is_visible("#print")
    assert not await plain.is_visible("#paper-notice")

    # The office's receipt printer is dead: the ticket is issued, the kiosk says paper failed
    # and offers the browser's print path even where it would print nothing itself.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    server.app.state.settings.receipt.printers[office.id] = ReceiptPrinter(
        host="127.0.0.1", port=dead
    )
    await plain.click("#done")
    await take_ticket(plain, office)
    assert await plain.text_content("#ticket-number") == "A-003"
    assert "could not be printed" in (await plain.text_content("#paper-notice") or "")
    assert await plain.is_visible("#paper-notice") and await plain.is_visible("#print")
