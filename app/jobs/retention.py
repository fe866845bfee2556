"""The retention job: purge expired personal data every ``retention.every_s`` (README, Retention)."""

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.clock import Clock
from app.services import retention
from app.services.uow import UnitOfWork
from app.settings import Settings

log = logging.getLogger(__name__)


async def purge_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> retention.PurgeReport:
    async with sessionmaker() as session:
        uow = UnitOfWork(session, clock=clock, settings=settings)
        report = await retention.purge(uow, settings.retention.periods())
        await uow.commit()
    return report


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    """Purge, wait ``every_s``, again, until ``stop`` is set; a failure is logged and retried."""
    while not stop.is_set():
        try:
            report = await purge_once(sessionmaker, clock, settings)
        except Exception:
            log.warning("retention purge failed; retrying at the next run", exc_info=True)
        else:
            if report.applications:
                # Ids and counts only: never the data.
                log.info(
                    "retention purged %d application(s), deleted %d file(s)",
                    len(report.applications),
                    report.files_deleted,
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.retention.every_s)
