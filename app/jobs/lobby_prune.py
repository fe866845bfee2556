"""lobby-prune: drop lobby history older than the last ``display.history_events`` per office."""

from app.jobs.core import Job, JobContext, Report
from app.storage import lobby as lobby_store


async def prune(context: JobContext) -> Report:
    async with context.sessionmaker() as session:
        keep = context.settings.display.history_events
        removed = await lobby_store.prune_events(session, keep=keep)
        await session.commit()
    return Report(
        f"ロビー履歴 {removed} 件を削除しました (removed {removed} lobby event(s))", removed
    )


JOB = Job(
    name="lobby-prune",
    description="Drop lobby events older than the history displays may resume from",
    interval_s=lambda settings: settings.display.prune_every_s,
    setting="MADOGUCHI_DISPLAY__PRUNE_EVERY_S",
    run_once=prune,
    run_at_start=False,
    log_changes=False,
)
