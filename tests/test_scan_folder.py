"""The watched scan folder: each file read once, across runs, restarts and two processes;
a file still being written is left alone."""

import asyncio
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from app.domain.clock import SystemClock
from app.domain.ocr import FieldZone
from app.jobs import JobContext, by_name, run_job, scan_folder
from app.settings import ScanSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application
from clients.ocr_forms import generate
from tests.support import make_settings, seed


class CountingEngine:
    """Answers every field at once and counts what it was asked to read (no Tesseract)."""

    def __init__(self) -> None:
        self.reads = 0
        self._lock = threading.Lock()

    def read_field(self, crop: Image.Image, field: FieldZone) -> tuple[str, float]:
        with self._lock:
            self.reads += 1
        return ("0120-000-000" if field.script == "digits" else "読取", 0.99)


FIELDS = 13  # the 住民異動届 template's fields: reads per page


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> CountingEngine:
    counting = CountingEngine()
    monkeypatch.setattr(scan_folder, "_ENGINE", [counting])
    return counting


@pytest.fixture
async def contexts(clean_db: str, tmp_path: Path) -> AsyncIterator[list[JobContext]]:
    """Two processes' job contexts (an engine each) on the same database and folder."""
    demo = await seed(clean_db)
    scan = ScanSettings(
        folder=str(tmp_path), every_s=5, settle_s=30, token=demo["tokens"]["intake"]
    )
    engines = [create_engine(clean_db, poolclass=NullPool) for _ in range(2)]
    yield [
        JobContext(make_sessionmaker(e), SystemClock(), make_settings(clean_db, scan=scan))
        for e in engines
    ]
    for e in engines:
        await e.dispose()


def drop(folder: Path, name: str, pages: list[Image.Image], age_s: float) -> Path:
    """A scan written ``age_s`` seconds ago (0: being written now)."""
    path = folder / name
    pages[0].save(path, save_all=True, append_images=pages[1:])
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


async def stored(context: JobContext) -> list[str]:
    async with context.sessionmaker() as session:
        rows = (await session.execute(select(Application.external_ref))).scalars().all()
        return sorted(r or "" for r in rows)


async def test_each_file_is_read_once_and_a_fresh_file_waits(
    contexts: list[JobContext], engine: CountingEngine, tmp_path: Path
) -> None:
    job = by_name("scan-folder")
    assert job is not None and job.interval_s(contexts[0].settings) == 5
    assert job.interval_s(make_settings("sqlite+aiosqlite://")) == 0  # off by default
    images = [p.image for p in generate(3, seed=5)]
    two = drop(tmp_path, "a.tif", images[:2], age_s=60)
    fresh = drop(tmp_path, "b.tif", images[2:], age_s=0)  # the scanner is still writing it

    outcome = await run_job(job, contexts[0])
    assert outcome.report is not None and outcome.report.changed == 2
    assert engine.reads == 2 * FIELDS
    assert (tmp_path / "done" / "a.tif").exists() and not two.exists()
    assert fresh.exists()  # not read while it changes
    assert len(await stored(contexts[0])) == 2

    os.utime(fresh, (time.time() - 60, time.time() - 60))
    await run_job(job, contexts[0])
    assert engine.reads == 3 * FIELDS and (tmp_path / "done" / "b.tif").exists()

    # After a restart: the same file dropped again, and one left in reading/ by a crash.
    shutil.copy(tmp_path / "done" / "a.tif", tmp_path / "again.tif")
    os.utime(tmp_path / "again.tif", (time.time() - 60, time.time() - 60))
    shutil.copy(tmp_path / "done" / "b.tif", tmp_path / "reading" / "b.tif")
    outcome = await run_job(job, contexts[0])
    assert outcome.report is not None and outcome.report.changed == 0
    assert "duplicate 3" in outcome.report.summary
    assert engine.reads == 3 * FIELDS  # nothing read twice
    assert len(await stored(contexts[0])) == 3
    assert list((tmp_path / "reading").iterdir()) == []


async def test_two_processes_read_a_file_once(
    contexts: list[JobContext], engine: CountingEngine, tmp_path: Path
) -> None:
    images = [p.image for p in generate(4, seed=6)]
    for n in range(4):
        drop(tmp_path, f"s{n}.png", images[n : n + 1], age_s=60)
    await asyncio.gather(*(scan_folder.watch(c) for c in contexts))
    assert engine.reads == 4 * FIELDS
    assert len(await stored(contexts[0])) == 4
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [f"s{n}.png" for n in range(4)]


async def test_a_page_without_marks_goes_to_failed(
    contexts: list[JobContext], engine: CountingEngine, tmp_path: Path
) -> None:
    drop(tmp_path, "blank.png", [Image.new("L", (800, 1100), 255)], age_s=60)
    report = await scan_folder.watch(contexts[0])
    assert "failed 1" in report.summary and report.changed == 0
    assert (tmp_path / "failed" / "blank.png").exists()
    assert await stored(contexts[0]) == [] and engine.reads == 0


async def test_a_wrong_token_stores_nothing(
    contexts: list[JobContext], engine: CountingEngine, tmp_path: Path
) -> None:
    drop(tmp_path, "a.png", [generate(1, seed=8)[0].image], age_s=60)
    settings = contexts[0].settings.model_copy(
        update={"scan": contexts[0].settings.scan.model_copy(update={"token": "not-a-token"})}
    )
    context = JobContext(contexts[0].sessionmaker, SystemClock(), settings)
    with pytest.raises(Exception, match="intake token"):
        await scan_folder.watch(context)
    assert await stored(context) == [] and engine.reads == 0
    assert (tmp_path / "reading" / "a.png").exists()  # kept for a run with the right token
