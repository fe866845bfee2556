"""Paper tickets on an office's network receipt printer (ESC/POS over raw TCP).

Called once the ticket is committed: the ticket stands whatever the printer does. A printer that
is off, unreachable, slow or not a printer at all costs the kiosk at most the timeout and ends
as ``PaperResult(printed=False, ...)``; the kiosk still shows the number and its browser print.
"""

import asyncio
import functools
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.domain.clock import TOKYO
from app.exports.receipt import (
    CjkFonts,
    ReceiptFontMissing,
    TicketSlip,
    check_fonts,
    escpos_bytes,
    paper_dots,
    render_ticket,
)
from app.settings import ReceiptPrinter, ReceiptSettings
from app.storage import tenancy
from app.storage.tables import Ticket
from app.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

CATALOGUES = Path(__file__).resolve().parent.parent.parent / "clients" / "web" / "common" / "i18n"
# Debian/Ubuntu (fonts-noto-cjk), Fedora, Arch, Homebrew.
FONT_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/google-noto-cjk",
    "/usr/share/fonts/noto-cjk",
    "/opt/homebrew/share/fonts",
    "/usr/local/share/fonts",
)
FONT_FILES = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}
# Languages whose script Noto Sans CJK does not draw: the second language is English instead.
WITHOUT_CJK_GLYPHS = frozenset({"ne"})
JAPANESE = frozenset({"ja", "ja-easy"})
PAPER_NOTICE = (
    "紙の整理券を印刷できませんでした。画面の番号をお控えください "
    "(The paper ticket could not be printed; please note the number on the screen)"
)


@dataclass(frozen=True)
class PaperResult:
    printed: bool
    notice: str | None = None


def _fontconfig(style: str) -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", f"Noto Sans CJK JP:style={style}"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    path = Path(found.stdout.strip())
    return path if found.returncode == 0 and path.name.startswith("NotoSansCJK") else None


@functools.cache
def find_fonts(font_dir: str | None = None) -> CjkFonts:
    """Noto Sans CJK's regular and bold files: the configured folder, else the usual folders,
    else fontconfig. Raises ReceiptFontMissing, saying what to install, when there are none."""
    folders = [font_dir] if font_dir else list(FONT_DIRS)
    for folder in folders:
        regular = Path(folder) / FONT_FILES["regular"]
        bold = Path(folder) / FONT_FILES["bold"]
        if regular.is_file() and bold.is_file():
            fonts = CjkFonts(regular=regular, bold=bold)
            check_fonts(fonts)
            return fonts
    if font_dir is None:
        regular_found, bold_found = _fontconfig("Regular"), _fontconfig("Bold")
        if regular_found is not None:
            fonts = CjkFonts(regular=regular_found, bold=bold_found or regular_found)
            check_fonts(fonts)
            return fonts
    raise ReceiptFontMissing(
        "紙の整理券に必要なフォント Noto Sans CJK がありません "
        "(Noto Sans CJK not found for paper tickets: install fonts-noto-cjk, or set "
        f"MADOGUCHI_RECEIPT__FONT_DIR to a folder with {' and '.join(FONT_FILES.values())}; "
        f"searched {', '.join(folders)})"
    )


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    with (CATALOGUES / f"{language}.json").open(encoding="utf-8") as file:
        return dict(json.load(file))


def slip_for(
    ticket: Ticket, category_ja: str, category_en: str, status_url: str, estimate_min: int
) -> TicketSlip:
    """The ticket's words: Japanese, and the ticket's language unless that is Japanese."""
    language = ticket.language if (CATALOGUES / f"{ticket.language}.json").is_file() else "en"
    if language in WITHOUT_CJK_GLYPHS:
        language = "en"
    local = None if language in JAPANESE else catalogue(language)
    issued: datetime = ticket.issued_at
    return TicketSlip(
        number=ticket.number,
        category_ja=category_ja,
        category_local=None if local is None else category_en,
        issued_at=issued.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M"),
        estimate_min=estimate_min,
        status_url=status_url,
        is_priority=ticket.is_priority,
        labels_ja=catalogue("ja"),
        labels_local=local,
    )


def ticket_bytes(slip: TicketSlip, paper_mm: int, font_dir: str | None = None) -> bytes:
    """The ESC/POS job of one ticket (CPU only: run it off the event loop)."""
    width = paper_dots(paper_mm)
    return escpos_bytes(render_ticket(slip, width, find_fonts(font_dir)).image, width)


async def send(printer: ReceiptPrinter, data: bytes, timeout_s: float) -> None:
    """Open a raw TCP connection to the printer, write the job, close (within timeout_s)."""
    async with asyncio.timeout(timeout_s):
        _reader, writer = await asyncio.open_connection(printer.host, printer.port)
        try:
            writer.write(data)
            await writer.drain()
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def print_ticket(
    uow: UnitOfWork,
    settings: ReceiptSettings,
    ticket: Ticket,
    *,
    status_url: str,
    estimate_min: int,
) -> PaperResult | None:
    """Print a committed ticket on its office's printer; None when the office has none.

    Never raises for the printer's sake: the kiosk gets a notice and the browser print."""
    printer = settings.printers.get(ticket.office_id)
    if printer is None:
        return None
    try:
        category = await tenancy.get_category(uow.session, ticket.category_id)
        name_ja = category.name_ja if category is not None else ""
        name_en = category.name_en if category is not None else ""
        # No transaction stays open while the printer is written to.
        await uow.commit()
        slip = slip_for(ticket, name_ja, name_en, status_url, estimate_min)
        data = await asyncio.to_thread(ticket_bytes, slip, printer.paper_mm, settings.font_dir)
        await send(printer, data, settings.timeout_s)
    except Exception as error:  # the ticket is committed: whatever failed, it is only paper
        await uow.rollback()  # nothing of this request is left to write
        log.warning(
            "paper ticket not printed: office %s, ticket %s, printer %s:%s: %s: %s",
            ticket.office_id,
            ticket.id,
            printer.host,
            printer.port,
            type(error).__name__,
            error,
        )
        return PaperResult(printed=False, notice=PAPER_NOTICE)
    return PaperResult(printed=True)
