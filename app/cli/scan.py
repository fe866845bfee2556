"""`madoguchi scan FOLDER`: scanned paper forms read with Tesseract into the intake."""

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.base import cli
from app.domain.clock import SystemClock
from app.domain.errors import DomainError
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker


@cli.command()
def scan(
    folder: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, help="PNG/TIFF/PDF scans, one form a page"),
    ],
    token: Annotated[str, typer.Option(envvar="MADOGUCHI_TOKEN", help="An intake token")] = "",
    template: Annotated[str, typer.Option(help="The form's template")] = "resident.move_in.v1",
    json_out: Annotated[bool, typer.Option("--json", help="One result line per page")] = False,
) -> None:
    """Read every page with Tesseract and store it as an application (channel bulk_ocr).

    PNG, TIFF (every page) and PDF (every page, rasterised at 300 dpi) files are read.

    A page's reference is its file's SHA-256 and page number: scanning the folder again stores
    nothing twice. Each page is committed on its own; a page whose registration marks are not
    found is listed and skipped (exit 1).
    """
    from app.domain.ocr import load_templates

    if not token:
        typer.echo("error: give --token or MADOGUCHI_TOKEN (an intake token)", err=True)
        raise typer.Exit(2)
    form = load_templates().get(template)
    if form is None:
        typer.echo(f"error: unknown template {template!r}", err=True)
        raise typer.Exit(2)
    try:
        totals = asyncio.run(_scan(folder, token, form, json_out))
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"受付 created {totals['created']} · 重複 duplicate {totals['duplicate']} · "
        f"読取不可 failed {totals['failed']}",
        err=True,
    )
    raise typer.Exit(1 if totals["failed"] else 0)


async def _scan(folder: Path, token: str, form: Any, json_out: bool) -> dict[str, int]:
    from rich.progress import Progress

    from app.services import scan as scanning
    from app.services.ocr import TesseractEngine
    from app.services.uow import UnitOfWork

    settings = Settings()
    engine = create_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    ocr = TesseractEngine()
    totals = {"created": 0, "duplicate": 0, "failed": 0}
    files = scanning.scan_files(folder)
    try:
        async with sessions() as session:
            uow = UnitOfWork(session, clock=SystemClock(), settings=settings)
            await scanning.intake_principal(uow, token)
        with Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
            task = progress.add_task("読取 scanning", total=len(files))
            for path in files:
                for line in await scanning.scan_file(
                    sessions, settings, SystemClock(), token, ocr, form, path
                ):
                    if "error" in line:
                        totals["failed"] += 1
                    else:
                        totals["created" if line["created"] else "duplicate"] += 1
                    if json_out:
                        typer.echo(json.dumps(line, ensure_ascii=False))
                    elif "error" in line:
                        typer.echo(f"{path.name} p{line['page']}: {line['error']}", err=True)
                progress.advance(task)
    finally:
        await engine.dispose()
    return totals
