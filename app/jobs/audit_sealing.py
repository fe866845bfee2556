"""audit-sealing: chain new event and access log rows (tamper evidence, app/services/audit.py)."""

from app.jobs.core import Job, JobContext, Report
from app.services import audit


async def seal(context: JobContext) -> Report:
    settings = context.settings.audit
    sealed = await audit.seal(
        context.sessionmaker,
        context.clock,
        batch_rows=settings.batch_rows,
        stop=context.stop,
        keys=settings.keys,
    )
    total = sum(sealed.values())
    chains = ", ".join(f"{log} {code}: {count}" for (log, code), count in sealed.items() if count)
    return Report(
        f"記録 {total} 件を封印しました (sealed {total} log row(s))"
        + (f": {chains}" if chains else ""),
        total,
    )


JOB = Job(
    name="audit-sealing",
    description="Chain new event and access log rows into their municipality's hash chain",
    interval_s=lambda settings: settings.audit.seal_every_s,
    setting="MADOGUCHI_AUDIT__SEAL_EVERY_S",
    run_once=seal,
    log_changes=False,
)
