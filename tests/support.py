"""Helpers shared by the tests: the test database, a live server, the demo office."""

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.domain.clock import SystemClock
from app.http_protocol import HttpProtocol
from app.main import create_app
from app.realtime.inbound import server_options
from app.services.demo import seed_demo
from app.services.uow import UnitOfWork
from app.settings import DisplaySettings, LobbySettings, Settings, SpeechSettings
from app.storage.db import create_engine, make_sessionmaker, metadata

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def database_url_from_env() -> str:
    url = os.environ.get("MADOGUCHI_TEST_DATABASE_URL")
    if url:
        return url
    folder = Path(tempfile.gettempdir()) / f"madoguchi-test-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{folder}/test.db"


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


async def recreate_database(url: str) -> None:
    if is_postgres(url):
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    else:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def truncate_all(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with engine.begin() as connection:
        if is_postgres(url):
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await connection.execute(text(f"DELETE FROM {name}"))
    await engine.dispose()


# Rendered announcements, shared by every server of the run (each file is rendered once).
SPEECH_CACHE = tempfile.mkdtemp(prefix="madoguchi-speech-")


def make_settings(database_url: str, **overrides: Any) -> Settings:
    display = overrides.pop("display", None) or DisplaySettings(heartbeat_s=5.0, watchdog_s=1.0)
    overrides.setdefault("public_burst", 1000)
    overrides.setdefault("kiosk_burst", 100_000)
    overrides.setdefault("page_burst", 100_000)
    # No no-show grace time: flows call and mark absent at once (the grace has its own tests).
    overrides.setdefault("lobby", LobbySettings(no_show_grace_s=0))
    # No pre-rendering in the background: tests render what they ask for.
    overrides.setdefault("speech", SpeechSettings(cache_dir=SPEECH_CACHE, prerender_every_s=0))
    overrides.setdefault("attachment_dir", tempfile.mkdtemp(prefix="madoguchi-attachments-"))
    return Settings(database_url=database_url, display=display, **overrides)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    ws_url: str
    settings: Settings
    app: Any

    def client(self, token: str | None = None) -> httpx2.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx2.AsyncClient(base_url=self.url + "/api/v1", headers=headers, timeout=30)

    def lobby_ws(self, office_id: str, token: str) -> str:
        return f"{self.ws_url}/api/v1/ws/offices/{office_id}/lobby?token={token}"


@contextlib.asynccontextmanager
async def run_server(
    settings: Settings, port: int | None = None, clock: Any = None, **uvicorn_options: Any
) -> AsyncIterator[LiveServer]:
    """Serve the real app with uvicorn on a loopback port (a free one by default), in this event
    loop."""
    port = port or free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings, clock=clock)
    # The websocket settings `madoguchi serve` uses (sansio protocol, frame limit, no deflate).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **{
            **server_options(settings.display.max_message_bytes),
            "http": HttpProtocol,
            **uvicorn_options,
        },
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        await task


async def seed(database_url: str, code: str = "431001") -> dict[str, Any]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with make_sessionmaker(engine)() as session:
            uow = UnitOfWork(session, clock=SystemClock(), settings=make_settings(database_url))
            result = await seed_demo(uow, code)
            await uow.commit()
            return result
    finally:
        await engine.dispose()


@dataclass
class Office:
    """The demo office of one municipality, with handy ids and tokens."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["offices"][0]["id"])

    def token(self, role: str) -> str:
        return str(self.data["tokens"][role])

    def category(self, prefix: str) -> str:
        return next(c["id"] for c in self.data["offices"][0]["categories"] if c["prefix"] == prefix)

    def counter(self, label: str) -> str:
        return next(c["id"] for c in self.data["offices"][0]["counters"] if c["label"] == label)
