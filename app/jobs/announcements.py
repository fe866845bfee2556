"""announce-prerender: render the audio of the calls likely next, before anyone clicks."""

import asyncio
from pathlib import Path

from app.domain.clock import business_day
from app.jobs.core import Job, JobContext, Report
from app.services.announcements import likely_announcements
from app.services.speech import AnnouncementAudio, OfflineSpeech


async def prerender(context: JobContext) -> Report:
    speech = context.settings.speech
    audio = AnnouncementAudio(Path(speech.cache_dir), OfflineSpeech(speech.espeak))
    async with context.sessionmaker() as session:
        plan = await likely_announcements(
            session, business_day(context.clock.now()), speech.prerender_tickets
        )
    rendered = 0
    for announcement in plan:
        if context.stop.is_set():
            break
        if audio.cached(announcement.digest) is None:
            # One file at a time, in a thread: the event loop and the other core stay free.
            await asyncio.to_thread(audio.render_now, announcement)
            rendered += 1
    return Report(
        f"呼出音声 {rendered} 件を作成しました (rendered {rendered} announcement(s))", rendered
    )


JOB = Job(
    name="announce-prerender",
    description="Render the audio of the calls likely next (waiting tickets × their counters)",
    interval_s=lambda settings: settings.speech.prerender_every_s,
    setting="MADOGUCHI_SPEECH__PRERENDER_EVERY_S",
    run_once=prerender,
    run_at_start=False,
    log_changes=False,
)
