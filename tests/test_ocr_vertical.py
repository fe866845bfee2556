"""A template zone may be written vertically (縦書き): it is read with Tesseract's vertical
Japanese model (Debian tesseract-ocr-jpn-vert), the rest of the page as before."""

import dataclasses
import json
import random
from importlib import resources
from pathlib import Path

import pytest

from app.domain.ocr import parse_template
from app.services.ocr import TesseractEngine, align, read_aligned
from clients.ocr_forms import render, truth_for

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/tesseract-ocr/5/tessdata/jpn_vert.traineddata").exists(),
    reason="Debian tesseract-ocr-jpn-vert is not installed (.ci/run installs it)",
)


def with_vertical_move_date() -> dict[str, object]:
    """The 住民異動届 with its 転入日 written down the right margin."""
    text = (resources.files("app.domain") / "ocr_templates" / "resident.move_in.v1.json").read_text(
        encoding="utf-8"
    )
    data = json.loads(text)
    for field in data["fields"]:
        if field["path"] == "move_date":
            field.update(zone=[0.93, 0.12, 0.99, 0.5], vertical=True)
    return data


def test_a_vertical_date_is_read_with_the_vertical_model() -> None:
    template = parse_template(with_vertical_move_date())
    vertical = next(f for f in template.fields if f.path == "move_date")
    assert vertical.vertical and not template.fields[0].vertical
    engine = TesseractEngine()
    for seed in (1, 2):
        truth = truth_for(random.Random(seed))
        page = render(template, truth, angle=0.8 * seed - 1.2, noise=0.002, seed=seed)
        readings = read_aligned(engine, page, template)
        assert readings["move_date"].text == truth["move_date"]
        assert readings["filer_phone"].text == truth["filer_phone"]  # horizontal, as before
        # The same crop read as a horizontal line is not the date: the model is what reads it.
        crop = align(page, template).crop(vertical.box(template.width, template.height))
        text, _confidence = engine.read_field(crop, dataclasses.replace(vertical, vertical=False))
        assert text != truth["move_date"]


def test_vertical_is_true_or_false() -> None:
    data = with_vertical_move_date()
    fields = data["fields"]
    assert isinstance(fields, list)
    fields[0]["vertical"] = "yes"
    with pytest.raises(ValueError, match="vertical"):
        parse_template(data)
