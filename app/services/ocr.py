"""Reading a scanned page: align it to its template, then read each field's zone.

``OcrEngine`` is what any engine implements (Tesseract here; an outside engine's adapter
answers the same per-field readings). Engines are blocking: ``read_page`` runs them in a
worker thread, off the event loop.
"""

import asyncio
import base64
import io
import threading
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image

from app.domain.ocr import FieldZone, FormTemplate, Reading

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"


class AlignmentError(ValueError):
    """The page's registration marks were not found: it cannot be matched to the template."""


class OcrEngine(Protocol):
    def read_field(self, crop: Image.Image, field: FieldZone) -> tuple[str, float]:
        """Raw text and confidence (0..1) of one field's crop (a greyscale image)."""
        ...


class TesseractEngine:
    """Tesseract 5 (Debian tesseract-ocr, tesseract-ocr-jpn, and tesseract-ocr-jpn-vert for
    zones written vertically) through tesserocr.

    Dictionaries are off (``load_system_dawg``, ``load_freq_dawg``): a name is read as printed,
    never as the nearest word. One API object per thread and direction (tesserocr's is not
    thread safe); the vertical one is made only when a vertical zone is read.
    """

    def __init__(
        self, tessdata: str = TESSDATA, lang: str = "jpn", vertical_lang: str = "jpn_vert"
    ) -> None:
        self.tessdata = tessdata
        self.lang = lang
        self.vertical_lang = vertical_lang
        self._local = threading.local()

    def _api(self, vertical: bool = False) -> Any:
        import tesserocr

        name = "vertical_api" if vertical else "api"
        api = getattr(self._local, name, None)
        if api is None:
            api = tesserocr.PyTessBaseAPI(
                path=self.tessdata,
                lang=self.vertical_lang if vertical else self.lang,
                psm=tesserocr.PSM.SINGLE_BLOCK_VERT_TEXT if vertical else tesserocr.PSM.SINGLE_LINE,
                variables={"load_system_dawg": "F", "load_freq_dawg": "F"},
            )
            setattr(self._local, name, api)
        return api

    def read_field(self, crop: Image.Image, field: FieldZone) -> tuple[str, float]:
        """The symbols Tesseract found, in order, and the confidence of the least sure one.

        Blanks are not read: Tesseract's Japanese model sets them between characters at random,
        so the blank between family and given name is left to the keyer, who sees the crop.
        """
        import tesserocr

        api = self._api(field.vertical)
        api.SetVariable("tessedit_char_whitelist", field.whitelist or "")
        api.SetImage(crop)
        api.Recognize()
        texts: list[str] = []
        confidences: list[float] = []
        level = tesserocr.RIL.SYMBOL
        for symbol in tesserocr.iterate_level(api.GetIterator(), level):
            try:
                text = symbol.GetUTF8Text(level)
            except RuntimeError:  # an empty line: tesserocr raises "No text returned"
                continue
            if text and text.strip():
                texts.append(text.strip())
                confidences.append(symbol.Confidence(level))
        if not texts:
            return "", 0.0
        return "".join(texts), max(0.0, min(1.0, min(confidences) / 100))


def align(page: Image.Image, template: FormTemplate) -> Image.Image:
    """The page warped onto the template's frame through its four registration marks."""
    grey = np.asarray(page.convert("L"))
    scale = grey.shape[1] / template.width
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    side = template.mark_size * template.width * scale
    candidates = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if not (0.5 * side * side <= area <= 1.6 * side * side):
            continue
        (cx, cy), (w, h), _angle = cv2.minAreaRect(contour)
        if min(w, h) <= 0 or max(w, h) / min(w, h) > 1.3 or area < 0.8 * w * h:
            continue
        candidates.append((cx, cy))
    expected = [(x * scale, y * scale) for x, y in template.mark_points()]
    found = []
    for ex, ey in expected:
        near = [c for c in candidates if abs(c[0] - ex) < 0.12 * grey.shape[1]]
        near = [c for c in near if abs(c[1] - ey) < 0.12 * grey.shape[0]]
        if not near:
            raise AlignmentError("位置合わせマークが見つかりません (registration marks not found)")
        found.append(min(near, key=lambda c: (c[0] - ex) ** 2 + (c[1] - ey) ** 2))
    matrix = cv2.getPerspectiveTransform(
        np.array(found, dtype=np.float32), np.array(template.mark_points(), dtype=np.float32)
    )
    warped = cv2.warpPerspective(
        grey, matrix, (template.width, template.height), flags=cv2.INTER_LINEAR, borderValue=255
    )
    return Image.fromarray(warped)


def crop_png(crop: Image.Image) -> str:
    """A field's crop as a data URL (PNG, greyscale), stored with its reading."""
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def read_aligned(
    engine: OcrEngine, page: Image.Image, template: FormTemplate
) -> dict[str, Reading]:
    aligned = align(page, template)
    readings = {}
    for field in template.fields:
        crop = aligned.crop(field.box(template.width, template.height))
        text, confidence = engine.read_field(crop, field)
        readings[field.path] = Reading(text, confidence, crop_png(crop))
    return readings


async def read_page(
    engine: OcrEngine, page: Image.Image, template: FormTemplate
) -> dict[str, Reading]:
    """Each field of one page: raw text, confidence and crop (in a worker thread)."""
    return await asyncio.to_thread(read_aligned, engine, page, template)


PDF_DPI = 300


def load_pages(path: Path) -> list[Image.Image]:
    """The pages of a PNG, a (multi-page) TIFF or a PDF (each page rasterised at 300 dpi)."""
    if path.suffix.lower() == ".pdf":
        return load_pdf(path)
    with Image.open(path) as image:
        pages = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            pages.append(image.convert("L"))
        return pages


def load_pdf(path: Path, dpi: int = PDF_DPI) -> list[Image.Image]:
    """Every page of a PDF as a greyscale image at ``dpi`` (PDFium through pypdfium2)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            try:
                bitmap = page.render(scale=dpi / 72, grayscale=True)
                pages.append(bitmap.to_pil().convert("L"))
            finally:
                page.close()
        return pages
    finally:
        document.close()
