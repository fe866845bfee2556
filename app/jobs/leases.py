"""expire-leases: tasks whose lease ran out go back to the queue, whether or not anyone claims.

Claims take such a task directly too; this job makes the queue's figures, the supervisors'
list of who holds what and every other reader see it open again within the interval.
"""

from app.jobs.core import Job, JobContext, Report
from app.services import work
from app.services.uow import UnitOfWork


async def expire_leases(context: JobContext) -> Report:
    async with context.sessionmaker() as session:
        uow = UnitOfWork(session, clock=context.clock, settings=context.settings)
        returned = await work.expire_leases(uow)
        await uow.commit()
    return Report(
        f"期限切れの作業 {returned} 件をキューに戻しました "
        f"(returned {returned} task(s) whose lease ran out to the queue)",
        returned,
    )


JOB = Job(
    name="expire-leases",
    description="Return tasks whose lease ran out to the queue",
    interval_s=lambda settings: settings.queue.expire_every_s,
    setting="MADOGUCHI_QUEUE__EXPIRE_EVERY_S",
    run_once=expire_leases,
)
