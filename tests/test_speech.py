"""Announcements rendered offline and checked as audio: a WAV file of the voice's sample rate,
as long as a spoken sentence, not silence, made with every network connection refused."""

import array
import asyncio
import math
import shutil
import socket
import wave
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.pool import NullPool

from app.domain.announcements import Announcement, announcements_for
from app.domain.clock import SystemClock
from app.jobs.announcements import JOB as prerender_job
from app.jobs.core import JobContext, run_job
from app.services.announcements import catalogues
from app.services.speech import AnnouncementAudio, OfflineSpeech
from app.settings import SpeechSettings
from app.storage.db import create_engine, make_sessionmaker
from tests.support import Office, make_settings, run_server, seed

LANGUAGES = ["ja", "ja-easy", "en", "zh", "ko", "vi", "pt", "es", "ne", "id"]
RATES = {"openjtalk": 48_000, "espeak-ng": 22_050}


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("announcements")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("speech tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


def said_in(language: str) -> Announcement:
    return announcements_for("A-012", "3", language, catalogues())[-1]


def audio_of(data: bytes) -> tuple[int, float, float]:
    """Sample rate, seconds and RMS (of 32767) of a 16-bit mono WAV."""
    with wave.open(BytesIO(data)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        rate, frames = wav.getframerate(), wav.getnframes()
        samples = array.array("h", wav.readframes(frames))
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    return rate, frames / rate, rms


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (.ci/run)")
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_announcement_is_spoken_audio(language: str, speech_dir: Path, no_network: None) -> None:
    announcement = said_in(language)
    assert announcement.language == language
    path = AnnouncementAudio(speech_dir, OfflineSpeech()).render_now(announcement)
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    rate, seconds, rms = audio_of(data)
    assert rate == RATES[announcement.voice.split(":")[0]]
    assert 1.5 < seconds < 12, seconds
    assert rms > 300, f"silence? RMS {rms:.0f}"
    assert path.name == f"{announcement.digest}.wav"


def test_easy_japanese_is_said_more_slowly(speech_dir: Path) -> None:
    audio = AnnouncementAudio(speech_dir, OfflineSpeech())
    plain = Announcement("ja", "エー の 12番の方", "openjtalk:default")
    slow = Announcement("ja-easy", plain.text, "openjtalk:default:slow")
    assert audio_of(audio.render_now(slow).read_bytes())[1] > (
        audio_of(audio.render_now(plain).read_bytes())[1] * 1.1
    )


class CountingRenderer:
    def __init__(self) -> None:
        self.calls = 0

    def render(self, text: str, language: str, voice: str) -> bytes:
        self.calls += 1
        out = BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\x10\x00" * 8000)
        return out.getvalue()


async def test_one_rendering_per_digest_however_many_ask(tmp_path: Path) -> None:
    renderer = CountingRenderer()
    audio = AnnouncementAudio(tmp_path, renderer)
    announcement = said_in("en")
    paths = await asyncio.gather(*(audio.ensure(announcement) for _ in range(5)))
    assert len(set(paths)) == 1 and renderer.calls == 1
    await audio.ensure(announcement)
    assert renderer.calls == 1
    # Nothing half-written is left next to the file.
    assert [p.name for p in tmp_path.iterdir()] == [f"{announcement.digest}.wav"]


async def test_the_prerender_job_renders_the_next_calls_before_the_click(
    clean_db: str, tmp_path: Path
) -> None:
    office = Office(await seed(clean_db))
    speech = SpeechSettings(cache_dir=str(tmp_path), prerender_every_s=0, prerender_tickets=5)
    settings = make_settings(clean_db, speech=speech)
    async with run_server(settings) as server:
        async with server.client(office.token("kiosk")) as kiosk:
            issued = await kiosk.post(
                f"/offices/{office.id}/tickets",
                json={"category": office.category("B"), "language": "vi"},
            )
        assert issued.status_code == 201
        engine = create_engine(clean_db, poolclass=NullPool)
        context = JobContext(make_sessionmaker(engine), SystemClock(), settings)
        try:
            first = await run_job(prerender_job, context)
            again = await run_job(prerender_job, context)
        finally:
            await engine.dispose()
        # B is served by counters 3 and 4: Japanese and Vietnamese at each.
        assert first.report is not None and first.report.changed == 4
        assert again.report is not None and again.report.changed == 0
        async with server.client(office.token("counter")) as counter:
            await counter.post(f"/counters/{office.counter('3')}/call-next")
        async with server.client(office.token("display")) as display:
            snap = (await display.get(f"/offices/{office.id}/lobby")).json()
    urls = [a["url"] for a in snap["called"][0]["announcements"]]
    assert len(urls) == 2
    # The call's files were on disk before anyone asked for them.
    on_disk = {p.stem for p in tmp_path.glob("*.wav")}
    assert {url.split("/")[-1].split(".")[0] for url in urls} <= on_disk
