"""A scanned 住民異動届 in the entry console: each OCR'd field shows its crop beside its input,
the fields Tesseract is not trusted on are marked, and the page passes axe."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.pool import NullPool

from app.domain.clock import SystemClock
from app.domain.ocr import load_templates
from app.services.ocr import TesseractEngine
from app.services.scan import scan_file
from app.storage.db import create_engine, make_sessionmaker
from clients.ocr_forms import generate, write
from tests.e2e.test_accessibility import violations
from tests.e2e.test_console import DESK, demo, sign_in
from tests.support import LiveServer, Office

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path("/usr/share/tesseract-ocr/5/tessdata/jpn.traineddata").exists(),
        reason="Debian tesseract-ocr-jpn is not installed (.ci/run installs it)",
    ),
]

TEMPLATE = load_templates()["resident.move_in.v1"]


async def scan_one(server: LiveServer, office: Office, folder: Path) -> dict[str, str]:
    """One generated page scanned into the live server's database; its truth."""
    (page,) = generate(1, seed=21)
    write([page], folder)
    engine = create_engine(server.settings.database_url, poolclass=NullPool)
    try:
        (line,) = await scan_file(
            make_sessionmaker(engine),
            server.settings,
            SystemClock(),
            office.token("intake"),
            TesseractEngine(),
            TEMPLATE,
            folder / "form-0000.png",
        )
    finally:
        await engine.dispose()
    assert line["created"] is True
    return page.truth


async def test_each_ocr_field_shows_its_crop_beside_its_input(
    server: LiveServer, office: Office, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    truth = await scan_one(server, office, tmp_path)
    page = await browser.new_page(viewport=DESK)
    await page.goto(f"{server.url}/console/")
    await sign_in(page, demo(office, "operator"))
    await page.wait_for_selector("body[data-ready]", timeout=10_000)
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")

    for field in TEMPLATE.fields:
        row = page.locator(f".row[data-path='{field.path}']")
        crop = row.locator("img.crop")
        await crop.wait_for()
        control = row.locator("input, select").first
        box, input_box = await crop.bounding_box(), await control.bounding_box()
        assert box is not None and input_box is not None, field.path
        # Loaded, legible (at least 24 px high) and on the input's line, beside it.
        loaded = await crop.evaluate("(img) => img.complete && img.naturalWidth > 0")
        assert loaded, field.path
        assert box["height"] >= 24, (field.path, box)
        assert box["y"] < input_box["y"] + input_box["height"], field.path
        assert box["y"] + box["height"] > input_box["y"], field.path
        assert box["x"] >= input_box["x"] + input_box["width"], field.path
        assert box["x"] + box["width"] <= DESK["width"], field.path
    # Digits are read exactly; names are marked for keying twice whatever the confidence.
    assert await page.input_value(".row[data-path='filer_phone'] input") == truth["filer_phone"]
    for path in ("filer_name", "new_address", "members[0].kana"):
        flag = page.locator(f".row[data-path='{path}'] .flag.verify")
        assert "二重入力" in await flag.inner_text(), path
    assert await page.locator(".row[data-path='filer_phone'] .flag.verify").count() == 0

    await page.screenshot(path=artifacts / "console-ocr-crops.png", full_page=True)
    found = await violations(page, "console entry of a scanned form")
    assert found == [], "\n".join(found)
