"""Scanned paper forms into the intake: each page read against its template, then received
like any OCR-system submission (the same routing to blind double keying)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from app.domain.errors import InvalidInput
from app.domain.ocr import FormTemplate, ocr_results, page_reference
from app.domain.roles import Principal, Role
from app.services import intake
from app.services.ocr import OcrEngine, read_page
from app.storage import tenancy
from app.storage.uow import UnitOfWork

SCAN_SUFFIXES = (".png", ".tif", ".tiff")


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
    """The folder's scans (PNG, TIFF), in name order."""
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
        ocr=ocr_results(readings),
        attachments=[],
        support_measure=False,
    )
    application, created = await intake.receive(uow, principal, envelope)
    return application.id, created
