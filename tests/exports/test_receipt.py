"""The paper ticket as a receipt printer gets it: an image of the paper's width, as ESC/POS."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from app.exports.receipt import ReceiptFontMissing, TicketSlip, escpos_bytes, render_ticket
from app.services.receipts import find_fonts, slip_for, ticket_bytes
from app.storage.tables import Ticket

GS_V_0 = b"\x1dv0"
FULL_CUT = b"\x1dV\x00"


def ticket(language: str = "vi") -> Ticket:
    return Ticket(
        id="t1",
        municipality_code="431001",
        office_id="o1",
        category_id="c1",
        number="A-012",
        status="waiting",
        is_priority=False,
        language=language,
        public_key="k",
        issued_at=datetime(2026, 12, 4, 5, 7, tzinfo=UTC),
    )


def slip(language: str = "vi") -> TicketSlip:
    return slip_for(
        ticket(language),
        "住民異動届",
        "Resident moves",
        "http://127.0.0.1:8000/status/?office=o1&ticket=t1&key=k",
        15,
    )


def rasters(data: bytes) -> tuple[int, list[bytes]]:
    """The width in bytes and the rows of every GS v 0 image in an ESC/POS job."""
    rows: list[bytes] = []
    width_bytes = 0
    at = data.find(GS_V_0)
    assert at >= 0, "no raster image command (GS v 0)"
    while at >= 0:
        x = int.from_bytes(data[at + 4 : at + 6], "little")
        y = int.from_bytes(data[at + 6 : at + 8], "little")
        width_bytes = width_bytes or x
        assert x == width_bytes
        body = data[at + 8 : at + 8 + x * y]
        rows += [body[i * x : (i + 1) * x] for i in range(y)]
        at = data.find(GS_V_0, at + 8 + x * y)
    return width_bytes, rows


def dark(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    pixels = image.crop(box).convert("L").tobytes()
    return sum(1 for v in pixels if v < 128) / len(pixels)


@pytest.mark.parametrize(("paper_mm", "dots"), [(58, 384), (80, 576)])
def test_the_ticket_is_one_raster_image_of_the_papers_width_then_a_cut(
    paper_mm: int, dots: int
) -> None:
    fonts = find_fonts()
    rendered = render_ticket(slip(), dots, fonts)
    assert rendered.image.width == dots
    # The number is large (over a fifth of the paper's width tall) and drawn: it is ink, while
    # the margin beside it is blank paper.
    left, top, right, bottom = rendered.number_box
    assert bottom - top > dots / 5 and right - left > dots / 2
    assert dark(rendered.image, rendered.number_box) > 0.25
    assert dark(rendered.image, (0, top, 6, bottom)) == 0

    data = ticket_bytes(slip(), paper_mm)
    assert data.startswith(b"\x1b@") and data.endswith(FULL_CUT)
    assert data.index(FULL_CUT) > data.rindex(GS_V_0)
    width_bytes, rows = rasters(data)
    assert width_bytes * 8 == dots and len(rows) == rendered.image.height
    # The bits the printer burns are the image's dark pixels (1 = black), row for row.
    image = rendered.image.convert("L")
    number_row = (top + bottom) // 2
    bits = "".join(f"{b:08b}" for b in rows[number_row])
    assert bits == "".join(
        "1" if image.getpixel((x, number_row)) == 0 else "0" for x in range(dots)
    )


def test_the_second_language_is_the_tickets_and_nepali_falls_back_to_english() -> None:
    vietnamese = slip("vi")
    assert vietnamese.category_local == "Resident moves"
    assert vietnamese.labels_local is not None
    assert vietnamese.labels_local["kiosk.your_number"] != vietnamese.labels_ja["kiosk.your_number"]
    assert vietnamese.issued_at == "2026-12-04 14:07"  # Japan time
    assert slip("ja").labels_local is None and slip("ja").category_local is None
    nepali = slip("ne")  # Devanagari is not in Noto Sans CJK: English instead of tofu
    assert nepali.labels_local is not None
    assert nepali.labels_local["kiosk.estimate"] == "Estimated wait"


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReceiptFontMissing, match="fonts-noto-cjk"):
        find_fonts(str(tmp_path))
    (tmp_path / "NotoSansCJK-Regular.ttc").write_bytes(b"not a font")
    (tmp_path / "NotoSansCJK-Bold.ttc").write_bytes(b"not a font")
    find_fonts.cache_clear()
    with pytest.raises(ReceiptFontMissing, match="cannot load the font"):
        find_fonts(str(tmp_path))


def test_the_image_is_not_wider_than_the_paper() -> None:
    fonts = find_fonts()
    wide = render_ticket(slip(), 576, fonts).image
    with pytest.raises(Exception, match="576 > 384"):
        escpos_bytes(wide, 384)
