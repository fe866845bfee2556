"""The paper ticket of a network receipt printer: laid out as an image, encoded as ESC/POS.

A receipt printer's own text mode cannot print kanji usably, so the whole ticket is drawn with
Pillow in Noto Sans CJK at the paper's width in dots (58 mm: 384, 80 mm: 576) and sent as one
raster image (``GS v 0``) followed by a cut. Nothing here reads the clock, the database or the
network: the caller passes the ticket's words and the font files, and gets the image and the
bytes to send.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import segno
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

# Paper width (mm) -> printable dots at 203 dpi (the common 58/80 mm thermal heads).
PAPER_DOTS: Mapping[int, int] = {58: 384, 80: 576}

# Families that hold kana and kanji; the ticket refuses to render with anything else (tofu).
CJK_FAMILY = "Noto Sans CJK"

BLACK = 0
WHITE = 255


class ReceiptFontMissing(RuntimeError):
    """No usable Noto Sans CJK font: a ticket drawn without one would print empty boxes."""


@dataclass(frozen=True)
class CjkFonts:
    regular: Path
    bold: Path


@dataclass(frozen=True)
class TicketSlip:
    """What the paper says: Japanese first, then the ticket's language where it is another."""

    number: str
    category_ja: str
    issued_at: str
    estimate_min: int
    status_url: str
    is_priority: bool
    # The kiosk catalogue's words (kiosk.your_number, kiosk.category, kiosk.issued_at,
    # kiosk.estimate, kiosk.minutes, kiosk.qr_caption, kiosk.priority_tag).
    labels_ja: Mapping[str, str]
    category_local: str | None = None
    labels_local: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RenderedTicket:
    image: Image.Image
    # Where the number is drawn (left, top, right, bottom), in the image's pixels.
    number_box: tuple[int, int, int, int]


def paper_dots(paper_mm: int) -> int:
    try:
        return PAPER_DOTS[paper_mm]
    except KeyError:
        raise ValueError(f"paper width must be 58 or 80 mm, not {paper_mm}") from None


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    # index 0 of Noto Sans CJK's collection is the Japanese face (JP glyph shapes).
    return ImageFont.truetype(str(path), size=max(size, 8), index=0)


def check_fonts(fonts: CjkFonts) -> None:
    """Refuse a font that is not Noto Sans CJK (a fallback font would print boxes)."""
    for path in (fonts.regular, fonts.bold):
        try:
            font = _font(path, 12)
        except OSError as error:
            raise ReceiptFontMissing(
                f"フォントを読み込めません (cannot load the font {path}: {error})"
            ) from error
        if font.path != str(path):
            # Pillow, failing to read a file, quietly loads one of the same name elsewhere.
            raise ReceiptFontMissing(
                f"フォントを読み込めません (cannot load the font {path}: not a font file)"
            )
        family, _style = font.getname()
        if family is None or CJK_FAMILY not in family:
            raise ReceiptFontMissing(
                f"{path} は {CJK_FAMILY} ではありません ({path} is {family}, not {CJK_FAMILY})"
            )


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Greedy lines no wider than ``width``: at spaces where there are any, else at characters
    (Japanese has no spaces between words)."""
    lines: list[str] = []
    line = ""
    for char in text:
        candidate = line + char
        if line and draw.textlength(candidate, font=font) > width:
            cut = line.rfind(" ")
            if cut > 0 and char != " ":
                lines.append(line[:cut])
                line = line[cut + 1 :] + char
            else:
                lines.append(line.rstrip())
                line = char.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.strip())
    return lines


def _bbox(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont
) -> tuple[int, int, int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return round(left), round(top), round(right), round(bottom)


def _fitting_size(
    draw: ImageDraw.ImageDraw, text: str, path: Path, largest: int, width: int
) -> ImageFont.FreeTypeFont:
    size = largest
    font = _font(path, size)
    while size > 12 and draw.textlength(text, font=font) > width:
        size -= 4
        font = _font(path, size)
    return font


def render_ticket(slip: TicketSlip, width_dots: int, fonts: CjkFonts) -> RenderedTicket:
    """The ticket as a black-and-white image ``width_dots`` wide, as tall as it needs."""
    scale = width_dots / 576
    margin = round(16 * scale)
    inner = width_dots - 2 * margin
    # Drawn on a tall greyscale canvas, cropped and made 1-bit at the end.
    canvas = Image.new("L", (width_dots, round(2400 * scale) + 800), WHITE)
    draw = ImageDraw.Draw(canvas)
    y = margin

    def text(line: str, size: int, *, bold: bool = False, gap: int = 6) -> None:
        nonlocal y
        font = _font(fonts.bold if bold else fonts.regular, round(size * scale))
        for part in _wrap(draw, line, font, inner):
            left, top, right, bottom = _bbox(draw, part, font)
            x = (width_dots - (right - left)) // 2 - left
            draw.text((x, y - top), part, font=font, fill=BLACK)
            y += bottom - top + round(gap * scale)

    def both(key: str, size: int, **values: object) -> None:
        text(slip.labels_ja[key].format(**values), size)
        if slip.labels_local is not None:
            text(slip.labels_local[key].format(**values), round(size * 0.85))

    def rule() -> None:
        nonlocal y
        y += round(6 * scale)
        draw.line((margin, y, width_dots - margin, y), fill=BLACK, width=max(2, round(3 * scale)))
        y += round(14 * scale)

    both("kiosk.your_number", 26)
    # The number: as large as the paper allows (about 40 mm tall on 80 mm paper).
    number_font = _fitting_size(draw, slip.number, fonts.bold, round(200 * scale), inner)
    left, top, right, bottom = _bbox(draw, slip.number, number_font)
    x = (width_dots - (right - left)) // 2 - left
    draw.text((x, y - top), slip.number, font=number_font, fill=BLACK)
    number_box = (x + left, y, x + right, y + bottom - top)
    y += bottom - top + round(12 * scale)
    if slip.is_priority:
        both("kiosk.priority_tag", 26)
    rule()
    text(slip.labels_ja["kiosk.category"], 22)
    text(slip.category_ja, 40, bold=True)
    if slip.category_local is not None:
        text(slip.category_local, 30, bold=True)
    rule()
    text(f"{slip.labels_ja['kiosk.issued_at']}  {slip.issued_at}", 28)
    if slip.labels_local is not None:
        text(f"{slip.labels_local['kiosk.issued_at']}  {slip.issued_at}", 24)
    minutes_ja = slip.labels_ja["kiosk.minutes"].format(n=slip.estimate_min)
    text(f"{slip.labels_ja['kiosk.estimate']}  {minutes_ja}", 28)
    if slip.labels_local is not None:
        minutes = slip.labels_local["kiosk.minutes"].format(n=slip.estimate_min)
        text(f"{slip.labels_local['kiosk.estimate']}  {minutes}", 24)
    rule()
    # The status page's QR code: half the paper wide, whole modules, a four-module quiet zone.
    qr = segno.make(slip.status_url, error="m")
    modules = int(qr.symbol_size(border=4)[0])
    module = max(2, (width_dots // 2) // modules)
    side = module * modules
    qr_image = Image.new("L", (side, side), WHITE)
    qr_draw = ImageDraw.Draw(qr_image)
    for row, bits in enumerate(qr.matrix_iter(border=4)):
        for col, dark in enumerate(bits):
            if dark:
                qr_draw.rectangle(
                    (col * module, row * module, (col + 1) * module - 1, (row + 1) * module - 1),
                    fill=BLACK,
                )
    canvas.paste(qr_image, ((width_dots - side) // 2, y))
    y += side + round(8 * scale)
    both("kiosk.qr_caption", 22)
    y += margin * 2
    image = canvas.crop((0, 0, width_dots, y)).point(lambda v: 255 if v > 127 else 0, mode="1")
    return RenderedTicket(image=image, number_box=number_box)


def escpos_bytes(image: Image.Image, width_dots: int) -> bytes:
    """The printer's bytes: initialise, the image as ``GS v 0`` rasters, feed and a full cut."""
    printer = Dummy()
    # Our own copy of the profile with the paper's width: the library's profile dicts are shared
    # between printers, and with an unknown width it prints a warning on every image.
    profile = copy.deepcopy(printer.profile.profile_data)
    profile["media"] = {"dpi": 203, "width": {"mm": "Unknown", "pixels": width_dots}}
    printer.profile.profile_data = profile
    printer.hw("INIT")
    printer.image(image, impl="bitImageRaster")
    printer.cut()
    return bytes(printer.output)
