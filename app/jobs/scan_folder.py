"""scan-folder: the watched scan folder, read into the intake every ``scan.every_s``.

Off by default (``MADOGUCHI_SCAN__FOLDER`` and ``MADOGUCHI_SCAN__EVERY_S`` turn it on). Each
file that has stopped changing (``scan.settle_s``) is taken into reading/ by a rename, read
like `madoguchi scan` does (every page stored once, by the file's hash and page number), then
moved into done/, or failed/ when a page could not be aligned. A file is read once across
restarts and processes: on PostgreSQL the job runs in one process at a time; a file in
reading/ is read under an exclusive lock (flock) that lasts until it is filed away, so two
processes never read it both; a file left in reading/ by a restart is taken up again and its
pages already stored are found by their hash, not read twice.
"""

from pathlib import Path

from app.domain.ocr import load_templates
from app.jobs.core import Job, JobContext, Report
from app.services import scan as scanning
from app.services.ocr import OcrEngine, TesseractEngine
from app.settings import Settings

_ENGINE: list[OcrEngine] = []


def engine() -> OcrEngine:
    """One Tesseract engine for the process (its API objects are made once per thread)."""
    if not _ENGINE:
        _ENGINE.append(TesseractEngine())
    return _ENGINE[0]


async def watch(context: JobContext) -> Report:
    settings = context.settings.scan
    form = load_templates().get(settings.template)
    if form is None:
        raise ValueError(f"MADOGUCHI_SCAN__TEMPLATE: unknown template {settings.template!r}")
    folder = Path(settings.folder)
    created = duplicate = failed = 0
    for path in scanning.settled_files(folder, settings.settle_s):
        scanning.claim(path)
    for path in scanning.claimed_files(folder):
        if context.stop.is_set():
            break  # the rest stay in reading/ for the next run
        with scanning.held(path) as mine:
            if not mine:  # another process is reading it, or has filed it away
                continue
            lines = await scanning.scan_file(
                context.sessionmaker,
                context.settings,
                context.clock,
                settings.token,
                engine(),
                form,
                path,
            )
            errors = sum("error" in line for line in lines)
            failed += errors
            created += sum(bool(line.get("created")) for line in lines)
            duplicate += sum(line.get("created") is False for line in lines)
            scanning.file_away(path, failed=bool(errors))
    return Report(
        f"受付 created {created} · 重複 duplicate {duplicate} · 読取不可 failed {failed} "
        f"(pages from {folder})",
        created,
    )


def interval(settings: Settings) -> float:
    return settings.scan.every_s if settings.scan.folder else 0.0


JOB = Job(
    name="scan-folder",
    description="Read new files of the watched scan folder into the intake (OCR)",
    interval_s=interval,
    setting="MADOGUCHI_SCAN__EVERY_S",
    run_once=watch,
)
