"""取下げ (withdrawal) of an application, and reopening an approved one for correction: the
city's."""

from dataclasses import dataclass

from app.domain.applications import ApplicationStatus, Outcome, TaskKind, TaskStatus, next_status
from app.domain.errors import InvalidInput, NotAllowed, NotFound
from app.domain.roles import Employer, Principal, Role
from app.services import follow_ups
from app.services.tasks import correction_queue, next_core_seq, open_task
from app.storage import work as work_store
from app.storage.tables import Application, Task
from app.storage.uow import UnitOfWork


def _city_staff(principal: Principal) -> None:
    """Withdrawals and corrections of a decided application are the city's (DOMAIN.md §3.2)."""
    city_role = principal.role in (Role.REVIEWER, Role.SUPERVISOR)
    if not city_role or principal.employer is Employer.VENDOR:
        raise NotAllowed(
            "取下げ・訂正は市職員のみ (withdrawals and corrections are for city staff)"
        )


async def _locked_application(
    uow: UnitOfWork, principal: Principal, application_id: str
) -> Application:
    application = await work_store.lock_application_of(
        uow.session, application_id, principal.municipality_code
    )
    if application is None:
        raise NotFound("申請が見つかりません (no such application)", application_id=application_id)
    return application


def _required_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput.field(
            "reason", "required", "理由を入力してください (a reason is required)"
        )
    return reason


@dataclass(frozen=True)
class Withdrawal:
    application: Application
    cancelled_tasks: list[str]
    core_seq: int | None  # its new position in the core feed, when it had been approved


async def withdraw(
    uow: UnitOfWork, principal: Principal, application_id: str, reason: str
) -> Withdrawal:
    """取下げ: the application leaves the queue with a reason, at any open step or after approval.

    Its open and leased tasks are cancelled (their leases revoked, so a holder's submit answers
    409), the household is let go, and an application approved before (even one reopened for
    correction since) gets a new position in the core system's feed, where it now reads
    ``withdrawn``. An application never approved does not appear in the feed: the core system
    never received it.
    """
    _city_staff(principal)
    _required_reason(reason)
    application = await _locked_application(uow, principal, application_id)
    before = ApplicationStatus(application.status)
    application.status = next_status(before, Outcome.WITHDRAW)
    tasks = await work_store.lock_unfinished_tasks(uow.session, application.id)
    for task in tasks:
        holder = task.holder_id
        was = task.status
        task.status = TaskStatus.CANCELLED
        task.lease_token = None
        task.lease_expires_at = None
        task.holder_id = None
        task.completed_at = uow.now()
        task.completed_by = principal.person_id
        if holder:
            await work_store.free_household(
                uow.session,
                municipality_code=task.municipality_code,
                household_key=task.household_key,
                holder_id=holder,
                now=uow.now(),
            )
        uow.log(
            entity="task",
            entity_id=task.id,
            action="cancel",
            municipality_code=task.municipality_code,
            from_status=was,
            to_status=TaskStatus.CANCELLED,
            data={"reason": "withdrawn", "holder": holder},
        )
    application.updated_at = uow.now()
    # A withdrawn move owes no other department anything.
    cancelled_follow_ups = await follow_ups.on_withdrawal(uow, application)
    feed_seq = None
    if application.core_seq is not None:
        # Approved once (perhaps reopened for correction since): the core system has the record
        # and hears of the withdrawal at a new position.
        application.core_seq = feed_seq = await next_core_seq(uow, application.municipality_code)
    if application.ticket_id is not None:
        await work_store.set_ticket_progress(uow.session, application.ticket_id, application.status)
    uow.log(
        entity="application",
        entity_id=application.id,
        action=f"application.{Outcome.WITHDRAW}",
        municipality_code=application.municipality_code,
        from_status=before,
        to_status=application.status,
        data={
            "reason": reason,
            "cancelled_tasks": [t.id for t in tasks],
            **({"cancelled_follow_ups": cancelled_follow_ups} if cancelled_follow_ups else {}),
            **({"core_seq": feed_seq} if feed_seq is not None else {}),
        },
    )
    return Withdrawal(application, [t.id for t in tasks], feed_seq)


async def open_correction(
    uow: UnitOfWork, principal: Principal, application_id: str, reason: str
) -> tuple[Application, Task]:
    """Reopen an approved application for correction: entry, verify, review and approval again.

    Until it is approved again it is out of the core system's feed; the new approval puts the
    corrected record at a new position. The entry task carries the reason and, for vendor-keyed
    work, goes to the vendor's 管理責任者.
    """
    _city_staff(principal)
    _required_reason(reason)
    application = await _locked_application(uow, principal, application_id)
    before = ApplicationStatus(application.status)
    application.status = next_status(before, Outcome.REOPEN)
    application.return_reason = reason
    application.decided_at = None
    application.updated_at = uow.now()
    task = await open_task(
        uow, application, TaskKind.ENTRY, queue=correction_queue(application), note=reason
    )
    uow.log(
        entity="application",
        entity_id=application.id,
        action=f"application.{Outcome.REOPEN}",
        municipality_code=application.municipality_code,
        from_status=before,
        to_status=application.status,
        data={"reason": reason, "task": task.id},
    )
    return application, task
