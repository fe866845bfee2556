"""Paper forms read by OCR: form templates as data, and what a page's readings become.

A template (``ocr_templates/*.json``) gives the page's size, its four registration marks and,
per field, the zone (fractions of the page: left, top, right, bottom), the script (kanji, kana,
digits, date), the characters the engine may answer and whether it is written vertically.
Readings are kept raw: names and addresses are never corrected (no dictionary, no
normalisation).

Routing: a template's ``verify_below`` gives per script the confidence under which the engine's
reading is not trusted, calibrated on generated pages (``clients/ocr_forms.py --calibrate``), or
``"always"`` for a script the engine is wrong on while sure of itself (kanji and kana names: the
blank between family and given name is never read). Such fields are marked ``verify`` and go to
blind double keying whatever their confidence.
"""

import hashlib
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ー・　 "
DIGITS = "0123456789-"
DATE = "令和平成昭和年月日元0123456789"

# The characters an engine may answer per script; None: any (kanji fields, names, addresses).
WHITELISTS: dict[str, str | None] = {
    "digits": DIGITS,
    "kana": KATAKANA,
    "date": DATE,
    "kanji": None,
}


@dataclass(frozen=True)
class FieldZone:
    path: str
    label_ja: str
    script: str
    zone: tuple[float, float, float, float]
    whitelist: str | None
    # Written top to bottom (縦書き): read with Tesseract's vertical Japanese model.
    vertical: bool = False

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The zone in pixels of a page of this size (left, top, right, bottom)."""
        left, top, right, bottom = self.zone
        return (
            round(left * width),
            round(top * height),
            round(right * width),
            round(bottom * height),
        )


@dataclass(frozen=True)
class FormTemplate:
    code: str
    procedure: str
    title_ja: str
    width: int
    height: int
    dpi: int
    mark_size: float
    mark_centres: tuple[tuple[float, float], ...]
    fields: tuple[FieldZone, ...]
    verify_below: Mapping[str, float] = field(default_factory=dict)

    def needs_verify(self, zone: FieldZone, confidence: float) -> bool:
        """Whether a reading of this field is keyed twice blind whatever the queue's threshold:
        its script is one the engine cannot be trusted on at this confidence."""
        return confidence < self.verify_below.get(zone.script, 0.0)

    def to_verify(self, readings: Mapping[str, "Reading"]) -> set[str]:
        """The paths of the page's readings to key twice blind by the template's rule."""
        return {
            zone.path
            for zone in self.fields
            if zone.path in readings and self.needs_verify(zone, readings[zone.path].confidence)
        }

    def mark_points(self) -> list[tuple[float, float]]:
        """The registration marks' centres in pixels of the template's page."""
        return [(x * self.width, y * self.height) for x, y in self.mark_centres]


def parse_template(data: dict[str, Any]) -> FormTemplate:
    fields = []
    for item in data["fields"]:
        script = item["script"]
        if script not in WHITELISTS:
            raise ValueError(f"unknown script {script!r} for {item['path']}")
        zone = tuple(float(v) for v in item["zone"])
        if len(zone) != 4 or not (0 <= zone[0] < zone[2] <= 1 and 0 <= zone[1] < zone[3] <= 1):
            raise ValueError(f"zone of {item['path']} is not inside the page")
        vertical = item.get("vertical", False)
        if not isinstance(vertical, bool):
            raise ValueError(f"vertical of {item['path']} is true or false")
        fields.append(
            FieldZone(
                path=item["path"],
                label_ja=item.get("label_ja", item["path"]),
                script=script,
                zone=(zone[0], zone[1], zone[2], zone[3]),
                whitelist=item.get("whitelist", WHITELISTS[script]),
                vertical=vertical,
            )
        )
    verify_below: dict[str, float] = {}
    for script, limit in data.get("verify_below", {}).items():
        if script not in WHITELISTS:
            raise ValueError(f"unknown script {script!r} in verify_below")
        if limit == "always":
            verify_below[script] = math.inf
        elif isinstance(limit, int | float) and 0 <= limit <= 1:
            verify_below[script] = float(limit)
        else:
            raise ValueError(f"verify_below of {script} is 'always' or a confidence 0..1")
    page, marks = data["page"], data["marks"]
    return FormTemplate(
        code=data["code"],
        procedure=data["procedure"],
        title_ja=data["title_ja"],
        width=int(page["width"]),
        height=int(page["height"]),
        dpi=int(page["dpi"]),
        mark_size=float(marks["size"]),
        mark_centres=tuple((float(x), float(y)) for x, y in marks["centres"]),
        fields=tuple(fields),
        verify_below=verify_below,
    )


@cache
def load_templates() -> dict[str, FormTemplate]:
    """Every template shipped with the app, by code."""
    folder = resources.files("app.domain") / "ocr_templates"
    out = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            template = parse_template(json.loads(entry.read_text(encoding="utf-8")))
            out[template.code] = template
    return out


@dataclass(frozen=True)
class Reading:
    """One field as the engine read it: raw text, confidence 0..1, the crop's reference."""

    text: str
    confidence: float
    image: str | None = None


def ocr_results(
    readings: dict[str, Reading], verify: Collection[str] = ()
) -> dict[str, dict[str, Any]]:
    """The intake's per-field OCR results: value and confidence, or unreadable; the crop.

    The text is kept as read, only stripped of blanks at its ends. An empty reading is
    unreadable (confidence 0), so the field is keyed from the crop. The ``verify`` paths are
    marked so (the template's routing rule): they are keyed twice blind.
    """
    out: dict[str, dict[str, Any]] = {}
    for path, reading in readings.items():
        text = reading.text.strip()
        item: dict[str, Any]
        if text:
            item = {"value": text, "confidence": round(max(0.0, min(1.0, reading.confidence)), 3)}
        else:
            item = {"unreadable": True, "confidence": 0.0}
        if path in verify and text:
            item["verify"] = True
        if reading.image:
            item["image"] = reading.image
        out[path] = item
    return out


def page_reference(file_sha256: str, page: int) -> str:
    """The external_ref of one scanned page: the same file and page is the same form."""
    return f"scan:{file_sha256[:32]}:p{page}"


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
