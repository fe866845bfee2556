"""vendor-sealing: seal each vendor contract's batches on the contract's own schedule."""

from app.jobs.core import Job, JobContext, Report
from app.services import batches


async def seal_due(context: JobContext) -> Report:
    sealed = await batches.seal_due(context.sessionmaker, context.clock, context.settings)
    return Report(f"バッチ {sealed} 件を封緘しました (sealed {sealed} batch(es))", sealed)


JOB = Job(
    name="vendor-sealing",
    description="Seal the batches of every vendor contract that is due (its seal_every_s)",
    interval_s=lambda settings: settings.vendor.schedule_tick_s if settings.vendor.schedule else 0,
    setting="MADOGUCHI_VENDOR__SCHEDULE_TICK_S, MADOGUCHI_VENDOR__SCHEDULE",
    run_once=seal_due,
    run_at_start=False,
)
