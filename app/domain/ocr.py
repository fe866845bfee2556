"""Paper forms read by OCR: form templates as data, and what a page's readings become.

A template (``ocr_templates/*.json``) gives the page's size, its four registration marks and,
per field, the zone (fractions of the page: left, top, right, bottom), the script (kanji, kana,
digits, date) and the characters the engine may answer. Readings are kept raw: names and
addresses are never corrected (no dictionary, no normalisation).
"""

import hashlib
import json
from dataclasses import dataclass
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
        fields.append(
            FieldZone(
                path=item["path"],
                label_ja=item.get("label_ja", item["path"]),
                script=script,
                zone=(zone[0], zone[1], zone[2], zone[3]),
                whitelist=item.get("whitelist", WHITELISTS[script]),
            )
        )
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


def ocr_results(readings: dict[str, Reading]) -> dict[str, dict[str, Any]]:
    """The intake's per-field OCR results: value and confidence, or unreadable; the crop.

    The text is kept as read, only stripped of blanks at its ends. An empty reading is
    unreadable (confidence 0), so the field is keyed from the crop.
    """
    out: dict[str, dict[str, Any]] = {}
    for path, reading in readings.items():
        text = reading.text.strip()
        item: dict[str, Any]
        if text:
            item = {"value": text, "confidence": round(max(0.0, min(1.0, reading.confidence)), 3)}
        else:
            item = {"unreadable": True, "confidence": 0.0}
        if reading.image:
            item["image"] = reading.image
        out[path] = item
    return out


def page_reference(file_sha256: str, page: int) -> str:
    """The external_ref of one scanned page: the same file and page is the same form."""
    return f"scan:{file_sha256[:32]}:p{page}"


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
