"""The application: settings, resources and routers put together. No business logic here."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app import jobs
from app.api import api_router, ops
from app.api.docs import install_docs
from app.api.edge import AnonymousPageLimit, BodyReadTimeout, EdgeHeaders
from app.api.errors import HTTP_TITLES, install_error_handlers
from app.api.limits import BodySizeLimit, JsonShapeLimit
from app.api.pages import install_pages
from app.api.ratelimit import RateLimiter
from app.domain.clock import Clock, ScaledClock, SystemClock
from app.realtime.admission import AdmissionGate, DisplayAdmission
from app.realtime.collector import FreezingCollector
from app.realtime.guard import guard_displays
from app.realtime.hub import Hub
from app.realtime.pglisten import PgListener
from app.resources import Resources
from app.services import whatif_console
from app.services.lobby_feed import DatabaseLobbyFeed
from app.services.speech import AnnouncementAudio, OfflineSpeech
from app.services.token_cache import TokenCache
from app.settings import Settings
from app.storage import display_admin as display_admin_store
from app.storage import lobby as lobby_store
from app.storage.db import create_engine, make_sessionmaker
from app.storage.engines import asyncpg_dsn

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


async def _check_channels(resources: Resources) -> None:
    """Heal a lost NOTIFY: compare each watched office's seq with what this process fanned out."""
    offices = resources.hub.offices()
    if not offices:
        return
    try:
        seqs = await resources.feed.channel_seqs(offices)
    except Exception:
        log.warning("lobby watchdog could not read the channels", exc_info=True)
        return
    for office_id, seq in seqs.items():
        published = resources.hub.published_seq(office_id)
        if published is None or seq > published:
            resources.hub.notify(office_id, seq)


async def _watchdog(resources: Resources, interval_s: float, check_now: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(check_now.wait(), interval_s)
        check_now.clear()
        await _check_channels(resources)


def settings_clock(settings: Settings) -> Clock:
    """The real clock, or a replayed day's (``MADOGUCHI_CLOCK__START``/``__SCALE``)."""
    if settings.clock.start is None and settings.clock.scale == 1.0:
        return SystemClock()
    start = settings.clock.start or SystemClock().now()
    return ScaledClock(start, settings.clock.scale)


def build_resources(settings: Settings, clock: Clock | None = None) -> Resources:
    engine = create_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    clock = clock or settings_clock(settings)
    feed = DatabaseLobbyFeed(sessionmaker, settings, clock)
    hub = Hub(
        feed.fetch,
        queue_size=settings.display.queue_size,
        recent=feed.recent_events,
        window_events=settings.display.window_events,
        snapshot_ttl_s=settings.display.snapshot_cache_s,
    )
    return Resources(
        engine=engine,
        sessionmaker=sessionmaker,
        hub=hub,
        feed=feed,
        clock=clock,
        tokens=TokenCache(settings.token_cache_s),
        speech=AnnouncementAudio(
            Path(settings.speech.cache_dir), OfflineSpeech(settings.speech.espeak)
        ),
    )


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_production()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = build_resources(settings, clock)
        app.state.resources = resources
        check_now = asyncio.Event()
        tasks = [
            asyncio.create_task(resources.hub.run(), name="lobby-hub"),
            asyncio.create_task(
                _watchdog(resources, settings.display.watchdog_s, check_now), name="lobby-watchdog"
            ),
        ]
        # Revoked or expired tokens close their displays within guard_s (at once when revoked
        # through this process).
        tokens_changed = asyncio.Event()
        resources.tokens.on_forget.append(lambda _token_id: tokens_changed.set())
        tasks.append(
            asyncio.create_task(
                guard_displays(
                    resources.hub,
                    resources.feed.live_tokens,
                    resources.clock.now,
                    settings.display.guard_s,
                    settings.display.max_buffered_bytes,
                    tokens_changed,
                ),
                name="display-guard",
            )
        )
        listener = None
        if resources.engine.dialect.name == "postgresql":
            listener = PgListener(
                asyncpg_dsn(settings.database_url),
                lobby_store.NOTIFY_CHANNEL,
                resources.hub.notify,
                check_now.set,
                control=(display_admin_store.CONTROL_CHANNEL, resources.hub.control_payload),
            )
            tasks.append(asyncio.create_task(listener.run(), name="lobby-listener"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.connected.wait(), 10)
        app.state.listener = listener
        # Periodic work (app/jobs/): one task per job, one process at a time on PostgreSQL.
        runner = jobs.start_all(jobs.JobContext(resources.sessionmaker, resources.clock, settings))
        app.state.jobs = runner
        # What start-up built (routes, schemas, table metadata, the catalogue) lives as long as
        # the process: out of the collector's sight, a full collection scans only what requests
        # leave behind, instead of stalling every request for a tenth of a second.
        gc.collect()
        gc.freeze()
        if settings.display.gc_freeze_s > 0:
            # From then on, what lives (connected displays above all) is frozen as it settles.
            collector = FreezingCollector(
                settings.display.gc_freeze_s,
                full_after_bytes=settings.display.gc_full_after_mb * 1024 * 1024,
            )
            tasks.append(asyncio.create_task(collector.run(), name="gc-freeze"))
        try:
            yield
        finally:
            # Let a run in progress commit rather than cancel it halfway; cancel if it hangs.
            await runner.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await resources.engine.dispose()
            whatif_console.shutdown()

    app = FastAPI(
        title="Madoguchi 窓口",
        version="1.0.0",
        description="Lobby queue, consolidated intake and central entry/review "
        "for municipal counters.",
        lifespan=lifespan,
        # Served from this server, not a CDN (app/api/docs.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Added last, the size limit is outermost: it counts the bytes the shape check reads.
    app.add_middleware(JsonShapeLimit, limits=settings.json_shape.limits())
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyReadTimeout, timeout_s=settings.body_timeout_s)
    app.add_middleware(
        AnonymousPageLimit, limiter=RateLimiter(settings.page_rate_per_s, settings.page_burst)
    )
    # Outermost of the app's own middleware: its 413s, 408s and 429s carry the headers too.
    app.add_middleware(EdgeHeaders)
    # In front of everything: lobby websockets over their address's limits are refused first.
    app.state.display_admission = DisplayAdmission(
        settings.display.connections_per_address,
        settings.display.connects_per_s,
        settings.display.connect_burst,
    )
    app.add_middleware(
        AdmissionGate,
        admission=app.state.display_admission,
        prefix="/api/v1/ws/",
        title=HTTP_TITLES[429],
    )
    app.state.public_limiter = RateLimiter(settings.public_rate_per_s, settings.public_burst)
    app.state.kiosk_limiter = RateLimiter(settings.kiosk_rate_per_s, settings.kiosk_burst)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(ops.router)
    install_docs(app)
    install_pages(app, ROOT)
    return app
