"""A scan's skew is undone through its registration marks; a TIFF's pages are all read."""

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.domain.ocr import load_templates
from app.services.ocr import AlignmentError, align, load_pages
from clients.ocr_forms import render, truth_for

TEMPLATE = load_templates()["resident.move_in.v1"]


def ink_in_zones(page: Image.Image) -> float:
    """The share of each field zone's pixels that are dark, averaged over the zones."""
    pixels = np.asarray(page)
    shares = []
    for field in TEMPLATE.fields:
        left, top, right, bottom = field.box(TEMPLATE.width, TEMPLATE.height)
        shares.append(float((pixels[top:bottom, left:right] < 128).mean()))
    return sum(shares) / len(shares)


def test_a_skewed_and_shifted_scan_lands_on_the_template() -> None:
    truth = truth_for(random.Random(3))
    straight = render(TEMPLATE, truth)
    skewed = render(TEMPLATE, truth, angle=2.5)
    # A scanner's margin: the page sits 40 px lower and 25 px further right, at 90 % size.
    canvas = Image.new("L", (TEMPLATE.width, TEMPLATE.height), 255)
    small = skewed.resize((int(TEMPLATE.width * 0.9), int(TEMPLATE.height * 0.9)))
    canvas.paste(small, (25, 40))
    aligned = align(canvas, TEMPLATE)
    difference = np.abs(np.asarray(aligned, dtype=np.int16) - np.asarray(straight, dtype=np.int16))
    assert (difference > 128).mean() < 0.01
    assert ink_in_zones(aligned) == pytest.approx(ink_in_zones(straight), rel=0.25)
    assert (np.asarray(canvas) != np.asarray(straight)).mean() > 0.02  # it was off before


def test_a_page_without_marks_is_refused() -> None:
    with pytest.raises(AlignmentError):
        align(Image.new("L", (TEMPLATE.width, TEMPLATE.height), 255), TEMPLATE)


def test_every_page_of_a_tiff(tmp_path: Path) -> None:
    pages = [Image.new("L", (50, 70), shade) for shade in (255, 0, 128)]
    pages[0].save(tmp_path / "three.tif", save_all=True, append_images=pages[1:])
    loaded = load_pages(tmp_path / "three.tif")
    assert [p.getpixel((0, 0)) for p in loaded] == [255, 0, 128]


def test_a_pdf_page_is_rasterised_at_300_dpi_and_aligned(tmp_path: Path) -> None:
    truth = truth_for(random.Random(4))
    straight = render(TEMPLATE, truth)
    skewed = render(TEMPLATE, truth, angle=-1.2)
    skewed.save(tmp_path / "one.pdf", resolution=200)
    (page,) = load_pages(tmp_path / "one.pdf")
    width, height = page.size  # 300 dpi: 1.5 times the template's 200 dpi (PDFium rounds up)
    assert abs(width - TEMPLATE.width * 1.5) <= 1 and abs(height - TEMPLATE.height * 1.5) <= 1
    aligned = align(page, TEMPLATE)
    assert aligned.size == (TEMPLATE.width, TEMPLATE.height)
    assert ink_in_zones(aligned) == pytest.approx(ink_in_zones(straight), rel=0.25)
