"""`madoguchi scan FOLDER`: printed 住民異動届 pages read with Tesseract into the intake."""

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from app.domain.applications import risky_paths
from app.domain.catalogue import load_catalogue
from app.domain.ocr import load_templates
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application
from clients.ocr_forms import generate, write
from tests.support import seed

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/tesseract-ocr/5/tessdata/jpn.traineddata").exists(),
    reason="Debian tesseract-ocr-jpn is not installed (.ci/run installs it)",
)

THRESHOLD = 0.9  # the default MADOGUCHI_QUEUE__CONFIDENCE_THRESHOLD
DIGITS = [f.path for f in load_templates()["resident.move_in.v1"].fields if f.script == "digits"]


async def run_scan(
    database_url: str, folder: Path, token: str, *options: str
) -> tuple[int, list[dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "scan",
        str(folder),
        "--token",
        token,
        "--json",
        *options,
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode in (0, 1), err.decode()
    return process.returncode or 0, [json.loads(line) for line in out.decode().splitlines()]


async def stored(database_url: str) -> dict[str, Application]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Application))).scalars().all()
            return {row.external_ref or "": row for row in rows}
    finally:
        await engine.dispose()


async def test_scanned_pages_become_applications_once(clean_db: str, tmp_path: Path) -> None:
    demo = await seed(clean_db)
    pages = generate(3, seed=7, skew=1.5, noise=0.002)
    write(pages, tmp_path)
    Image.new("L", (800, 1100), 255).save(tmp_path / "zz-blank.png")  # no registration marks

    code, lines = await run_scan(clean_db, tmp_path, demo["tokens"]["intake"])
    assert code == 1  # the blank page could not be aligned
    assert [line["created"] for line in lines[:3]] == [True, True, True]
    assert "error" in lines[3] and lines[3]["file"] == "zz-blank.png"

    applications = await stored(clean_db)
    assert len(applications) == 3
    procedure = load_catalogue().get("resident.move_in")
    by_file = {line["file"]: line["application_id"] for line in lines[:3]}
    for n, page in enumerate(pages):
        application = next(a for a in applications.values() if a.id == by_file[f"form-{n:04d}.png"])
        assert application.channel == "bulk_ocr"
        assert application.municipality_code == "431001"
        ocr = application.ocr or {}
        for path in DIGITS:  # digits are read exactly, each with its crop
            assert ocr[path]["value"] == page.truth[path], path
            assert ocr[path]["image"].startswith("data:image/png;base64,")
        risky = set(risky_paths(procedure, application.values, ocr, set(), THRESHOLD))
        # High-risk fields are always keyed twice; others only when read with low confidence.
        assert "previous_resident_code" in risky
        # Names and addresses (kanji) and kana: Tesseract is sure of wrong ones, always twice.
        for path in ("filer_name", "new_address", "household_head_name"):
            assert path in risky and ocr[path].get("verify") is True, path
        for path, read in ocr.items():
            if path in risky or path not in application.values:
                continue
            assert read["confidence"] >= THRESHOLD, path
        low = [p for p, r in ocr.items() if r["confidence"] < THRESHOLD and p in application.values]
        assert set(low) <= risky

    again_code, again = await run_scan(clean_db, tmp_path, demo["tokens"]["intake"])
    assert again_code == 1
    assert [line.get("created") for line in again[:3]] == [False, False, False]
    assert len(await stored(clean_db)) == 3


async def test_a_pdf_of_child_allowance_claims(clean_db: str, tmp_path: Path) -> None:
    """Two 児童手当 認定請求書 pages in one PDF (rasterised at 300 dpi), read once each."""
    demo = await seed(clean_db)
    pages = generate(2, seed=11, template="child_allowance.claim.v1")
    first, *rest = [page.image for page in pages]
    first.save(tmp_path / "claims.pdf", save_all=True, append_images=rest, resolution=200)
    options = ("--template", "child_allowance.claim.v1")

    code, lines = await run_scan(clean_db, tmp_path, demo["tokens"]["intake"], *options)
    assert code == 0
    assert [(line["file"], line["page"], line["created"]) for line in lines] == [
        ("claims.pdf", 1, True),
        ("claims.pdf", 2, True),
    ]
    applications = {a.id: a for a in (await stored(clean_db)).values()}
    procedure = load_catalogue().get("child_allowance.claim")
    for line, page in zip(lines, pages, strict=True):
        application = applications[line["application_id"]]
        assert application.procedure == "child_allowance.claim"
        ocr = application.ocr or {}
        for path in ("claimant_postal_code", "claimant_phone"):
            assert ocr[path]["value"] == page.truth[path], path
        risky = set(risky_paths(procedure, application.values, ocr, set(), THRESHOLD))
        assert {"claimant_name", "children[0].name"} <= risky  # names: always keyed twice

    again_code, again = await run_scan(clean_db, tmp_path, demo["tokens"]["intake"], *options)
    assert again_code == 0 and [line["created"] for line in again] == [False, False]
    assert len(await stored(clean_db)) == 2
