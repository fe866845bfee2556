"""retention: purge expired personal data every ``retention.every_s`` (README, Retention)."""

from app.jobs.core import Job, JobContext, Report
from app.services import retention
from app.services.uow import UnitOfWork


async def purge(context: JobContext) -> Report:
    settings = context.settings
    async with context.sessionmaker() as session:
        uow = UnitOfWork(session, clock=context.clock, settings=settings)
        report = await retention.purge(uow, settings.retention.periods())
        await uow.commit()
    # Ids and counts only: never the data.
    count = len(report.applications)
    return Report(
        f"削除 {count} 件 (purged {count} application(s)), deleted "
        f"{report.files_deleted} file(s), kept {report.files_kept}",
        count,
    )


JOB = Job(
    name="retention",
    description="Purge the personal data of finished applications whose retention has ended",
    interval_s=lambda settings: settings.retention.every_s,
    setting="MADOGUCHI_RETENTION__EVERY_S",
    run_once=purge,
)
