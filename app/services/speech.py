"""Announcement audio, rendered offline and cached on disk by content address.

Japanese (and やさしい日本語) with Open JTalk (pyopenjtalk-plus: dictionary and the HTS voice
"Mei" inside the wheel), every other language with the espeak-ng program (Debian package). No
network is used. Rendering runs in a worker thread, never on the event loop; a file is written
once under its digest (announcements.announcement_digest) and never changes.
"""

import asyncio
import io
import os
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Protocol

from app.domain.announcements import Announcement, is_digest


class SpeechRenderer(Protocol):
    """Turns text into a WAV file's bytes, with the voice named ``engine:voice[:style]``."""

    def render(self, text: str, language: str, voice: str) -> bytes: ...


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM samples (little-endian bytes) as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()


class OfflineSpeech:
    """Open JTalk for Japanese, espeak-ng for the rest."""

    def __init__(self, espeak: str = "espeak-ng", timeout_s: float = 20.0) -> None:
        self._espeak = espeak
        self._timeout_s = timeout_s

    def render(self, text: str, language: str, voice: str) -> bytes:
        engine, _, rest = voice.partition(":")
        if engine == "openjtalk":
            return self._openjtalk(text, slow=rest.endswith(":slow"))
        if engine == "espeak-ng":
            return self._espeak_ng(text, rest)
        raise ValueError(f"unknown speech engine: {engine!r}")

    def _openjtalk(self, text: str, *, slow: bool) -> bytes:
        import numpy as np
        import pyopenjtalk

        samples, rate = pyopenjtalk.tts(text, speed=0.85 if slow else 1.0, predict_nani=False)
        pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
        return wav_bytes(pcm, rate)

    def _espeak_ng(self, text: str, voice: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="madoguchi-speech-") as scratch:
            target = Path(scratch) / "out.wav"
            # Text as an argument list item, never through a shell; -s: words per minute.
            subprocess.run(
                [self._espeak, "-v", voice, "-s", "140", "-w", str(target), "--", text],
                check=True,
                capture_output=True,
                timeout=self._timeout_s,
            )
            return target.read_bytes()


class AnnouncementAudio:
    """The disk cache of rendered announcements: ``<directory>/<digest>.wav``."""

    def __init__(self, directory: Path, renderer: SpeechRenderer) -> None:
        self.directory = directory
        self._renderer = renderer
        self._rendering: dict[str, asyncio.Future[Path]] = {}

    def path_of(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError("not an announcement digest")
        return self.directory / f"{digest}.wav"

    def cached(self, digest: str) -> Path | None:
        path = self.path_of(digest)
        return path if path.is_file() else None

    async def ensure(self, announcement: Announcement) -> Path:
        """The file of ``announcement``, rendered in a thread unless already on disk; concurrent
        requests for the same digest share one rendering."""
        digest = announcement.digest
        path = self.cached(digest)
        if path is not None:
            return path
        running = self._rendering.get(digest)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._rendering[digest] = future
        try:
            path = await asyncio.to_thread(self._render_to_disk, announcement)
            future.set_result(path)
            return path
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._rendering[digest]

    def render_now(self, announcement: Announcement) -> Path:
        """Blocking: for jobs and the command line, not for the event loop."""
        return self.cached(announcement.digest) or self._render_to_disk(announcement)

    def _render_to_disk(self, announcement: Announcement) -> Path:
        data = self._renderer.render(announcement.text, announcement.language, announcement.voice)
        path = self.path_of(announcement.digest)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=self.directory, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(scratch, path)  # atomic: a reader sees the whole file or none
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        return path
