"""The central entry and review queue: claim, heartbeat, submit, release (DOMAIN.md §3, §6).

Finishing a task is app/services/keying.py (and review.py for decisions); withdrawals and
reopening are app/services/decisions.py, re-exported here for the callers of this module.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.domain import applications
from app.domain.applications import OPERATOR_KINDS, REVIEWER_KINDS, TaskKind, TaskStatus
from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotFound, StaleLease, VendorStaffDirection
from app.domain.roles import Employer, Principal, Role, direction_refusal
from app.domain.visibility import (
    Lens,
    Viewer,
    keyed_refusals,
    merge_keyed,
    outsourced_kinds,
    task_refusal,
)
from app.services.decisions import Withdrawal, open_correction, withdraw
from app.services.keying import finish_task
from app.services.tasks import correction_queue
from app.services.visibility import viewer_for
from app.storage import work as work_store
from app.storage import work_submit as submit_store
from app.storage.tables import Application, Task
from app.storage.uow import UnitOfWork

__all__ = [
    "CLAIM_ATTEMPTS",
    "OPERATOR_KINDS",
    "REVIEWER_KINDS",
    "Claimed",
    "Withdrawal",
    "claim",
    "claimable_kinds",
    "correction_queue",
    "dispatch",
    "expire_leases",
    "finish_task",
    "heartbeat",
    "holder_employer",
    "open_correction",
    "queues_for",
    "release",
    "submit",
    "withdraw",
]

CLAIM_ATTEMPTS = 8


@dataclass(frozen=True)
class Claimed:
    task: Task
    application: Application
    viewer: Viewer


def claimable_kinds(principal: Principal, requested: list[TaskKind] | None) -> list[TaskKind]:
    """The kinds of task this caller may take, narrowed to those they asked for."""
    if principal.role is Role.REVIEWER and principal.employer is not Employer.VENDOR:
        allowed: tuple[TaskKind, ...] = REVIEWER_KINDS
    elif principal.role is Role.OPERATOR:
        allowed = OPERATOR_KINDS
    else:
        allowed = ()
    return [k for k in allowed if requested is None or k in requested]


def queues_for(principal: Principal) -> list[str]:
    """Work the vendor's 管理責任者 has dispatched is for vendor operators only."""
    return applications.queues_for(principal.employer)


async def claim(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kinds: list[TaskKind] | None,
    procedures: list[str] | None,
) -> Claimed | None:
    """Lease one task the caller is qualified and allowed for; None when there is none.

    A vendor-employed operator takes only the steps and procedures of their contract, and only
    tasks whose fields the contract lets them see (none at all without a contract).
    """
    viewer = await viewer_for(uow, principal)
    allowed_kinds = claimable_kinds(principal, kinds)
    if viewer.vendor_side:
        outsourced = outsourced_kinds(viewer.contract)
        allowed_kinds = [k for k in allowed_kinds if k in outsourced]
        if viewer.contract is not None:
            covered = viewer.contract.procedures
            procedures = [p for p in (procedures or sorted(covered)) if p in covered]
    if not allowed_kinds:
        return None
    if principal.qualifications is not None:
        procedures = [
            p for p in (procedures or principal.qualifications) if p in principal.qualifications
        ]
    now = uow.now()
    expires = now + timedelta(seconds=uow.settings.queue.lease_s)
    skip: list[str] = []
    for _ in range(CLAIM_ATTEMPTS):
        application: Application | None = None
        claimed = await work_store.claim_task(
            uow.session,
            municipality_code=principal.municipality_code,
            holder_id=principal.person_id,
            kinds=list(allowed_kinds),
            queues=queues_for(principal),
            procedures=procedures,
            city_staff=principal.employer is Employer.CITY,
            lease_token=secrets.token_urlsafe(24),
            now=now,
            expires_at=expires,
            skip=skip,
        )
        if claimed is None:
            return None
        if isinstance(claimed, work_store.PgClaim):
            task, application, held = claimed.task, claimed.application, claimed.household_held
        else:
            task = claimed
            held = await work_store.take_household(
                uow.session,
                municipality_code=task.municipality_code,
                household_key=task.household_key,
                holder_id=principal.person_id,
                now=now,
                expires_at=expires,
            )
        if held and viewer.vendor_side:
            # The contract's allow-list decides field by field, which the claim statement cannot.
            if application is None:
                application = await work_store.get_application(uow.session, task.application_id)
            procedure = load_catalogue().get(task.procedure)
            if task_refusal(
                viewer,
                procedure,
                kind=TaskKind(task.kind),
                field_keys=task.field_keys,
                protected=application.is_protected,
            ):
                await work_store.unclaim(uow.session, task.id)
                await work_store.free_household(
                    uow.session,
                    municipality_code=task.municipality_code,
                    household_key=task.household_key,
                    holder_id=principal.person_id,
                    now=now,
                )
                skip.append(task.id)
                application = None
                continue
        if held:
            break
        # Another operator took a task of the same household a moment ago: put this one back.
        await work_store.unclaim(uow.session, task.id)
        skip.append(task.id)
    else:
        return None
    if application is None:
        application = await work_store.get_application(uow.session, task.application_id)
    uow.log(
        entity="task",
        entity_id=task.id,
        action="claim",
        municipality_code=task.municipality_code,
        to_status=TaskStatus.LEASED,
        data={"kind": task.kind, "application_id": application.id},
    )
    # The access-log row is written with the view itself (app/api/work.py), saying what it showed.
    return Claimed(task, application, viewer)


async def _held_task(uow: UnitOfWork, principal: Principal, task_id: str, lease_token: str) -> Task:
    task = await work_store.lock_task(uow.session, task_id, principal.municipality_code)
    if task is None:
        raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
    _check_lease(uow, principal, task, lease_token)
    return task


def _check_lease(uow: UnitOfWork, principal: Principal, task: Task, lease_token: str) -> None:
    task_id = task.id
    if (
        task.status != TaskStatus.LEASED
        or task.holder_id != principal.person_id
        or not secrets.compare_digest((task.lease_token or "").encode(), lease_token.encode())
        or task.lease_expires_at is None
        or task.lease_expires_at <= uow.now()
    ):
        raise StaleLease(
            "リースが切れたか、他の人が担当しています (lease expired or not yours)", task_id=task_id
        )


async def heartbeat(uow: UnitOfWork, principal: Principal, task_id: str, lease_token: str) -> Task:
    """Extend the lease of a task the caller holds."""
    task = await _held_task(uow, principal, task_id, lease_token)
    task.lease_expires_at = uow.now() + timedelta(seconds=uow.settings.queue.lease_s)
    await work_store.extend_household(
        uow.session,
        municipality_code=task.municipality_code,
        household_key=task.household_key,
        holder_id=principal.person_id,
        expires_at=task.lease_expires_at,
    )
    return task


async def release(
    uow: UnitOfWork, principal: Principal, task_id: str, lease_token: str | None
) -> Task:
    """Give the task back untouched.

    A supervisor may release a stuck task held by city staff, and the vendor's 管理責任者 one
    held by the vendor's operators; neither directs the other's people (DOMAIN.md §3.3).
    """
    if principal.role in (Role.SUPERVISOR, Role.VENDOR_MANAGER):
        task = await work_store.lock_task(uow.session, task_id, principal.municipality_code)
        if task is None:
            raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
        if task.status != TaskStatus.LEASED:
            raise StaleLease("担当者のいない作業です (task is not leased)", task_id=task_id)
        employer = await holder_employer(uow, task.municipality_code, task.holder_id)
        why = direction_refusal(principal, employer)
        if why:
            raise VendorStaffDirection(why, task_id=task_id)
    else:
        task = await _held_task(uow, principal, task_id, lease_token or "")
    holder = task.holder_id or ""
    _reopen(task)
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
        action="release",
        municipality_code=task.municipality_code,
        from_status=TaskStatus.LEASED,
        to_status=TaskStatus.OPEN,
        data={"holder": holder},
    )
    return task


async def holder_employer(
    uow: UnitOfWork, municipality_code: str, person_id: str | None
) -> str | None:
    """Who employs the person holding a task (city or vendor); None when unknown."""
    if person_id is None:
        return None
    return await work_store.employer_of(uow.session, municipality_code, person_id)


def _reopen(task: Task) -> None:
    task.status = TaskStatus.OPEN
    task.lease_token = None
    task.lease_expires_at = None
    task.holder_id = None


async def submit(
    uow: UnitOfWork,
    principal: Principal,
    task_id: str,
    lease_token: str,
    *,
    values: dict[str, Any] | None,
    decision: str | None,
    reason: str | None,
    submit_with_problems: bool = False,
    acknowledge: list[dict[str, str]] | None = None,
) -> tuple[Task, Application]:
    """Finish the held task: keyed values for entry/verify/settle, a decision for review.

    Task and application are read by one locking statement outside the session; a keyed step
    writes what it changed in one more (app/storage/work_submit.py), a review's decision goes
    through the session (its steps read and write other rows)."""
    locked = await submit_store.lock_for_submit(uow.session, task_id, principal.municipality_code)
    if locked is None:
        raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
    task, application = locked
    _check_lease(uow, principal, task, lease_token)
    keyed = TaskKind(task.kind) is not TaskKind.REVIEW
    if not keyed:
        submit_store.attach(uow.session, task, application)
    viewer = await viewer_for(uow, principal)
    if viewer.vendor_side and values is not None:
        # A vendor operator keys only what the contract shows them; the rest stays as stored.
        lens = Lens(viewer, load_catalogue().get(application.procedure))
        problems = keyed_refusals(lens, values)
        if problems:
            raise InvalidInput(
                "契約で認められていない項目です (fields outside the contract)", problems
            )
        if TaskKind(task.kind) is TaskKind.ENTRY:
            values = merge_keyed(lens, application.values, values)
    application = await finish_task(
        uow,
        principal,
        task,
        values=values,
        decision=decision,
        reason=reason,
        application=application,
        submit_with_problems=submit_with_problems,
        acknowledge=acknowledge,
        detached=keyed,
    )
    return task, application


async def dispatch(uow: UnitOfWork, principal: Principal, task_id: str) -> Task:
    """The vendor's manager hands a returned task on to the vendor's operators."""
    task = await work_store.lock_task(uow.session, task_id, principal.municipality_code)
    if task is None or task.queue != "vendor_manager":
        raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
    task.queue = "vendor"
    uow.log(
        entity="task",
        entity_id=task.id,
        action="dispatch",
        municipality_code=task.municipality_code,
    )
    return task


async def expire_leases(uow: UnitOfWork) -> int:
    """Return tasks whose lease ran out to the queue (claims also take them directly)."""
    return await work_store.expire_leases(uow.session, uow.now())
