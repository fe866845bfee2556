"""Scanned paper forms into the intake: each page read against its template, then received
like any OCR-system submission (the same routing to blind double keying)."""

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from app.domain.clock import Clock
from app.domain.errors import InvalidInput
from app.domain.ocr import FormTemplate, ocr_results, page_reference
from app.domain.roles import Principal, Role
from app.services import intake
from app.services.ocr import AlignmentError, OcrEngine, load_pages, read_page
from app.settings import Settings
from app.storage import tenancy
from app.storage.db import Sessionmaker
from app.storage.uow import UnitOfWork

SCAN_SUFFIXES = (".png", ".tif", ".tiff", ".pdf")


@dataclass(frozen=True)
class PageResult:
    file: str
    page: int
    external_ref: str
    application_id: str
    created: bool


async def intake_principal(uow: UnitOfWork, secret: str) -> Principal:
    """The intake sender behind a token (scans are stored as that sender's forms)."""
    token = await tenancy.find_active_token(uow.session, secret, uow.now())
    if token is None or token.role != Role.INTAKE:
        raise InvalidInput(
            "受付用トークンではありません (not a live intake token)",
            errors=[{"field": "token", "code": "not_intake", "message": "intake token required"}],
        )
    principal = Principal(
        token_id=token.id,
        municipality_code=token.municipality_code,
        role=Role.INTAKE,
        name=token.name,
    )
    uow.principal = principal
    return principal


def scan_files(folder: Path) -> list[Path]:
    """The folder's scans (PNG, TIFF, PDF), in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SCAN_SUFFIXES)


async def scan_page(
    uow: UnitOfWork,
    principal: Principal,
    engine: OcrEngine,
    template: FormTemplate,
    page: Image.Image,
    *,
    file_sha256: str,
    page_number: int,
    received_at: datetime,
) -> tuple[str, bool]:
    """Store one page as an application; (application id, created).

    The external_ref comes from the file's hash and the page number: scanning the same file
    again reads nothing and stores nothing twice.
    """
    ref = page_reference(file_sha256, page_number)
    existing = await intake.find_by_reference(uow, principal, ref)
    if existing is not None:
        return existing.id, False
    readings = await read_page(engine, page, template)
    envelope = intake.Envelope(
        procedure=template.procedure,
        channel="bulk_ocr",
        received_at=received_at,
        external_ref=ref,
        ticket=None,
        applicant={},
        fields={},
        ocr=ocr_results(readings, template.to_verify(readings)),
        attachments=[],
        support_measure=False,
    )
    application, created = await intake.receive(uow, principal, envelope)
    return application.id, created


def _hash_and_pages(path: Path) -> tuple[str, list[Image.Image]]:
    """The file's SHA-256 and its pages (blocking: run in a worker thread)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), load_pages(path)


async def scan_file(
    sessions: Sessionmaker,
    settings: Settings,
    clock: Clock,
    token: str,
    engine: OcrEngine,
    template: FormTemplate,
    path: Path,
) -> list[dict[str, Any]]:
    """Every page of one file into the intake, each committed on its own; one result a page
    (``application_id`` and ``created``, or ``error`` for a page that could not be aligned).

    The file's hash is taken before its pages are read: a page already stored under it is
    neither read nor stored again (whoever scanned it: the command or the watched folder).
    """
    digest, pages = await asyncio.to_thread(_hash_and_pages, path)
    lines: list[dict[str, Any]] = []
    for number, page in enumerate(pages, start=1):
        line: dict[str, Any] = {"file": path.name, "page": number}
        async with sessions() as session:
            uow = UnitOfWork(session, clock=clock, settings=settings)
            principal = await intake_principal(uow, token)
            try:
                app_id, created = await scan_page(
                    uow,
                    principal,
                    engine,
                    template,
                    page,
                    file_sha256=digest,
                    page_number=number,
                    received_at=uow.now(),
                )
            except AlignmentError as error:
                line["error"] = str(error)
            else:
                await uow.commit()
                line.update(application_id=app_id, created=created)
        lines.append(line)
    return lines


def settled_files(folder: Path, settle_s: float, now: float | None = None) -> list[Path]:
    """The folder's scans that nobody is writing any more: unchanged (size and time) for
    ``settle_s`` seconds. A scanner still writing a file keeps touching it."""
    now = time.time() if now is None else now
    ready = []
    for path in scan_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:  # another process filed it away meanwhile
            continue
        if stat.st_size > 0 and now - stat.st_mtime >= settle_s:
            ready.append(path)
    return ready


def claim(path: Path) -> Path | None:
    """Take a settled file into reading/ beside it (a rename: of two processes, one gets it);
    None when another process took it first."""
    return _move(path, path.parent / "reading")


def claimed_files(folder: Path) -> list[Path]:
    """Files in reading/, those just claimed and those a run left there (a restart): each is
    read under ``held``; pages already stored are found by hash and not read twice."""
    reading = folder / "reading"
    return scan_files(reading) if reading.is_dir() else []


@contextlib.contextmanager
def held(path: Path) -> Iterator[bool]:
    """Whether this run holds ``path`` (an exclusive lock on the open file, without waiting)
    and it is still there; the lock lasts until the block ends, after the file is moved."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        yield False
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            same = path.stat().st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        yield same


def file_away(path: Path, failed: bool) -> Path | None:
    """Move a read file from reading/ into done/ (or failed/, a page could not be aligned)
    beside it; None when another process moved it first."""
    return _move(path, path.parent.parent / ("failed" if failed else "done"))


def _move(path: Path, target_dir: Path) -> Path | None:
    """A name already there gets the time as a suffix."""
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{time.time_ns()}{path.suffix}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target
