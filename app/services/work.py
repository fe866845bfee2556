"""The central entry and review queue: claim, heartbeat, submit, release (DOMAIN.md §3, §6)."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.domain.applications import (
    ApplicationStatus,
    Outcome,
    TaskKind,
    TaskStatus,
    get_path,
    next_status,
    refusal,
    risky_paths,
    same_value,
    set_path,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import business_day
from app.domain.errors import InvalidInput, NotAllowed, NotFound, StaleLease
from app.domain.fields import validate_fields
from app.domain.roles import Employer, Principal, Role
from app.domain.validators.codes import mask_my_number
from app.domain.visibility import (
    Lens,
    Viewer,
    city_only_fields,
    is_protected,
    keyed_refusals,
    merge_keyed,
    outsourced_kinds,
    task_refusal,
)
from app.services import intake
from app.services.uow import UnitOfWork
from app.services.visibility import viewer_for
from app.storage import lobby as lobby_store
from app.storage import work as work_store
from app.storage.tables import Application, CoreFeed, Counter, Task, TaskExclusion, Ticket

OPERATOR_KINDS = (TaskKind.ENTRY, TaskKind.VERIFY, TaskKind.SETTLE)
REVIEWER_KINDS = (TaskKind.REVIEW,)
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
    # Work the vendor's 管理責任者 has dispatched is for vendor operators only.
    return ["central", "vendor"] if principal.employer is Employer.VENDOR else ["central"]


async def claim(
    uow: UnitOfWork, principal: Principal, *, kinds: list[TaskKind] | None, procedures: list[str] | None
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
        procedures = [p for p in (procedures or principal.qualifications) if p in principal.qualifications]
    now = uow.now()
    expires = now + timedelta(seconds=uow.settings.queue.lease_s)
    skip: list[str] = []
    for _ in range(CLAIM_ATTEMPTS):
        query = {
            "municipality_code": principal.municipality_code, "holder_id": principal.person_id,
            "kinds": list(allowed_kinds), "queues": queues_for(principal), "procedures": procedures,
            "city_staff": principal.employer is Employer.CITY, "lease_token": secrets.token_urlsafe(24),
            "now": now, "expires_at": expires, "skip": skip,
        }
        application: Application | None = None
        claimed = await work_store.claim_task(uow.session, **query)
        if claimed is None:
            return None
        if isinstance(claimed, work_store.PgClaim):
            task, application, held = claimed.task, claimed.application, claimed.household_held
        else:
            task = claimed
            held = await work_store.take_household(
                uow.session, municipality_code=task.municipality_code, household_key=task.household_key,
                holder_id=principal.person_id, now=now, expires_at=expires,
            )
        if held and viewer.vendor_side:
            # The contract's allow-list decides field by field, which the claim statement cannot.
            if application is None:
                application = await uow.session.get(
                    Application, task.application_id, populate_existing=True
                )
                assert application is not None
            procedure = load_catalogue().get(task.procedure)
            if task_refusal(viewer, procedure, kind=TaskKind(task.kind), field_keys=task.field_keys,
                            protected=application.is_protected):
                await work_store.unclaim(uow.session, task.id)
                await work_store.free_household(
                    uow.session, municipality_code=task.municipality_code,
                    household_key=task.household_key, holder_id=principal.person_id, now=now,
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
        application = await uow.session.get(Application, task.application_id, populate_existing=True)
        assert application is not None
    uow.log(entity="task", entity_id=task.id, action="claim", municipality_code=task.municipality_code,
            to_status=TaskStatus.LEASED, data={"kind": task.kind, "application_id": application.id})
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
        raise StaleLease("リースが切れたか、他の人が担当しています (lease expired or not yours)", task_id=task_id)


async def heartbeat(uow: UnitOfWork, principal: Principal, task_id: str, lease_token: str) -> Task:
    """Extend the lease of a task the caller holds."""
    task = await _held_task(uow, principal, task_id, lease_token)
    task.lease_expires_at = uow.now() + timedelta(seconds=uow.settings.queue.lease_s)
    await work_store.extend_household(
        uow.session, municipality_code=task.municipality_code, household_key=task.household_key,
        holder_id=principal.person_id, expires_at=task.lease_expires_at,
    )
    return task


async def release(uow: UnitOfWork, principal: Principal, task_id: str, lease_token: str | None) -> Task:
    """Give the task back untouched; a supervisor may release anyone's stuck task."""
    if principal.role is Role.SUPERVISOR:
        task = await work_store.lock_task(uow.session, task_id, principal.municipality_code)
        if task is None:
            raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
        if task.status != TaskStatus.LEASED:
            raise StaleLease("担当者のいない作業です (task is not leased)", task_id=task_id)
    else:
        task = await _held_task(uow, principal, task_id, lease_token or "")
    holder = task.holder_id or ""
    _reopen(task)
    await work_store.free_household(
        uow.session, municipality_code=task.municipality_code, household_key=task.household_key,
        holder_id=holder, now=uow.now(),
    )
    uow.log(entity="task", entity_id=task.id, action="release", municipality_code=task.municipality_code,
            from_status=TaskStatus.LEASED, to_status=TaskStatus.OPEN, data={"holder": holder})
    return task


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
) -> tuple[Task, Application]:
    """Finish the held task: keyed values for entry/verify/settle, a decision for review."""
    locked = await work_store.lock_task_and_application(uow.session, task_id, principal.municipality_code)
    if locked is None:
        raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
    task, application = locked
    _check_lease(uow, principal, task, lease_token)
    viewer = await viewer_for(uow, principal)
    if viewer.vendor_side and values is not None:
        # A vendor operator keys only what the contract shows them; the rest stays as stored.
        lens = Lens(viewer, load_catalogue().get(application.procedure))
        problems = keyed_refusals(lens, values)
        if problems:
            raise InvalidInput("契約で認められていない項目です (fields outside the contract)", problems)
        if TaskKind(task.kind) is TaskKind.ENTRY:
            values = merge_keyed(lens, application.values, values)
    application = await finish_task(uow, principal, task, values=values, decision=decision, reason=reason,
                                    application=application)
    return task, application


async def finish_task(
    uow: UnitOfWork,
    principal: Principal,
    task: Task,
    *,
    values: dict[str, Any] | None,
    decision: str | None,
    reason: str | None,
    application: Application | None = None,
) -> Application:
    """Record a task's work and open the next step; the caller has made sure it may act on it.

    The one path for keyed values and decisions, whether they come from an operator's lease
    on the task or from a vendor's batch (then ``principal`` is the vendor's operator).
    ``application``, when given, is the task's application already locked by the caller.
    """
    if application is None:
        application = (await uow.session.execute(
            select(Application).where(Application.id == task.application_id).with_for_update()
        )).scalars().one()
    kind = TaskKind(task.kind)
    why = refusal(principal, kind=kind, procedure=task.procedure, handled_by=application.handled_by,
                  city_only=task.city_only)
    if why:
        raise NotAllowed(why)
    before = ApplicationStatus(application.status)
    application.updated_at = uow.now()
    # The task is done before the next one is opened, so one flush writes both.
    task.status = TaskStatus.DONE
    task.completed_at = uow.now()
    task.completed_by = principal.person_id
    task.lease_token = None
    if kind is TaskKind.REVIEW:
        if values is not None or decision is None:
            raise InvalidInput.field("decision", "required", "審査結果を指定してください (give a decision)")
        result = await _decide(uow, principal, application, decision, reason)
    else:
        if values is None or decision is not None:
            raise InvalidInput.field("values", "required", "入力値を送ってください (send the keyed values)")
        result = await _key(uow, principal, task, application, kind, values)
    task.result = result
    if application.ticket_id is not None and application.status != ApplicationStatus.APPROVED:
        # The resident's status page follows the application (approval calls them back).
        await uow.session.execute(
            update(Ticket).where(Ticket.id == application.ticket_id).values(progress=application.status)
        )
    await work_store.free_household(
        uow.session, municipality_code=task.municipality_code, household_key=task.household_key,
        holder_id=principal.person_id, now=uow.now(),
    )
    uow.log(entity="application", entity_id=application.id, action=f"{kind}.{result['outcome']}",
            municipality_code=application.municipality_code, from_status=before, to_status=application.status,
            data={"task": task.id, "needs_verify": result.get("needs_verify", True), **(
                {"reason": reason} if reason else {})})
    return application


async def _key(
    uow: UnitOfWork, principal: Principal, task: Task, application: Application, kind: TaskKind,
    submitted: dict[str, Any],
) -> dict[str, Any]:
    procedure = load_catalogue().get(application.procedure)
    today = business_day(uow.now())
    if kind is TaskKind.ENTRY:
        keyed = _unmask(submitted, application.values)
        values, problems = validate_fields(procedure, keyed, today)
        application.values = values
        application.problems = [dict(p) for p in problems]
        application.entry_employer = principal.employer
        risky = risky_paths(procedure, values, application.ocr, {p["field"] for p in problems},
                            uow.settings.queue.confidence_threshold)
        outcome, fields, keyed_paths = Outcome.KEYED, risky, sorted(submitted)
    else:
        paths = task.field_keys
        missing = [p for p in paths if p not in submitted]
        if missing:
            raise InvalidInput("照合する項目が足りません (keyed fields missing)", [
                {"field": p, "code": "required", "message": "入力してください (required)"} for p in missing])
        candidate: dict[str, Any] = _copy(application.values)
        for path in paths:
            set_path(candidate, path, submitted[path])
        normalised, problems = validate_fields(procedure, candidate, today)
        if kind is TaskKind.VERIFY:
            differing = [p for p in paths if not same_value(get_path(normalised, p), get_path(application.values, p))]
            outcome = Outcome.MISMATCHED if differing else Outcome.MATCHED
            fields, keyed_paths = differing, paths
            if differing:
                task.result = {"verify_values": {p: get_path(normalised, p) for p in differing}}
        else:
            application.values = normalised
            application.problems = [dict(p) for p in problems]
            outcome, fields, keyed_paths = Outcome.SETTLED, [], paths
    # A form that says its person is under 支援措置 (a DV evacuee, say) keeps every later step
    # with city staff, whoever keyed it.
    if not application.is_protected and is_protected(procedure, application.values, False):
        application.is_protected = True
    application.handled_by = [*application.handled_by, principal.person_id]
    after = next_status(ApplicationStatus(application.status), outcome, needs_verify=bool(fields))
    application.status = after
    next_kind = TaskKind(after.value)
    extra: dict[str, Any] = {"field_keys": fields if next_kind in (TaskKind.VERIFY, TaskKind.SETTLE) else []}
    if next_kind is TaskKind.SETTLE:
        extra["note"] = "照合不一致 (verification mismatch)"
        # Settling a My Number shows both keyings in full: city staff only.
        extra["city_only"] = bool(city_only_fields(procedure, fields))
    await _open_task(uow, application, next_kind, **extra)
    result: dict[str, Any] = {"outcome": outcome.value, "keyed": keyed_paths, "needs_verify": bool(fields)}
    if outcome is Outcome.MISMATCHED:
        result["mismatched"] = fields
        result["verify_values"] = (task.result or {}).get("verify_values", {})
    return result


async def _open_task(uow: UnitOfWork, application: Application, kind: TaskKind, **extra: Any) -> Task:
    queue = extra.pop("queue", "central")
    task = intake.new_task(application, kind, uow.now(), queue=queue, **extra)
    uow.session.add(task)  # its id is made here, so the exclusions need no flush first
    if kind is not TaskKind.ENTRY:
        for person_id in dict.fromkeys(application.handled_by):
            uow.session.add(TaskExclusion(task_id=task.id, token_id=person_id,
                                          municipality_code=application.municipality_code))
    return task


async def _decide(
    uow: UnitOfWork, principal: Principal, application: Application, decision: str, reason: str | None
) -> dict[str, Any]:
    try:
        outcome = Outcome(decision)
    except ValueError:
        outcome = None
    if outcome not in (Outcome.APPROVE, Outcome.RETURN, Outcome.REJECT):
        raise InvalidInput.field("decision", "invalid_decision",
                                 "approve / return / reject のいずれかです (approve, return or reject)")
    if outcome is not Outcome.APPROVE and not (reason and reason.strip()):
        raise InvalidInput.field("reason", "required", "理由を入力してください (a reason is required)")
    application.status = next_status(ApplicationStatus(application.status), outcome)
    application.decided_at = uow.now() if outcome is not Outcome.RETURN else None
    if outcome is Outcome.APPROVE:
        application.core_seq = await _next_core_seq(uow, application.municipality_code)
        await _call_back_resident(uow, application)
    elif outcome is Outcome.RETURN:
        application.return_reason = reason
        # Corrections of vendor-keyed work go to the vendor's manager, never to its operator.
        queue = "vendor_manager" if application.entry_employer == Employer.VENDOR else "central"
        await _open_task(uow, application, TaskKind.ENTRY, queue=queue, note=reason)
    else:
        application.return_reason = reason
    return {"outcome": outcome.value, "reason": reason}


async def _next_core_seq(uow: UnitOfWork, municipality_code: str) -> int:
    """The next position in the core system's feed; the row lock orders approvals by commit."""
    feed = (await uow.session.execute(
        select(CoreFeed).where(CoreFeed.municipality_code == municipality_code).with_for_update()
    )).scalars().first()
    if feed is None:
        feed = CoreFeed(municipality_code=municipality_code, last_seq=0)
        uow.session.add(feed)
    feed.last_seq += 1
    await uow.session.flush()
    return feed.last_seq


async def _call_back_resident(uow: UnitOfWork, application: Application) -> None:
    """A resident waiting in the lobby is called back when their application is approved."""
    if application.ticket_id is None:
        return
    ticket = await uow.session.get(Ticket, application.ticket_id, with_for_update=True)
    if ticket is None or ticket.status == "cancelled":
        return
    ticket.progress = "ready"
    counter = await uow.session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    data: dict[str, Any] = {"number": ticket.number, "call_count": ticket.call_count, "queues": []}
    if counter is not None:
        data |= {"counter_id": counter.id, "counter_label": counter.label}
    seq = await lobby_store.append_event(
        uow.session, municipality_code=ticket.municipality_code, office_id=ticket.office_id,
        type_="ticket.ready", at=uow.now(), data=data,
    )
    uow.lobby_changed(ticket.office_id, seq)


async def dispatch(uow: UnitOfWork, principal: Principal, task_id: str) -> Task:
    """The vendor's manager hands a returned task on to the vendor's operators."""
    task = await work_store.lock_task(uow.session, task_id, principal.municipality_code)
    if task is None or task.queue != "vendor_manager":
        raise NotFound("作業が見つかりません (no such task)", task_id=task_id)
    task.queue = "vendor"
    uow.log(entity="task", entity_id=task.id, action="dispatch", municipality_code=task.municipality_code)
    return task


def _copy(values: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(values)


def _unmask(submitted: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A masked My Number sent back unchanged keeps the stored number."""
    keyed = _copy(submitted)

    def walk(node: Any, original: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, original.get(k) if isinstance(original, dict) else None) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, original[i] if isinstance(original, list) and i < len(original) else None)
                    for i, v in enumerate(node)]
        if isinstance(node, str) and isinstance(original, str) and node.startswith("*") and (
            node == mask_my_number(original)
        ):
            return original
        return node

    return walk(keyed, stored)  # type: ignore[no-any-return]


async def expire_leases(uow: UnitOfWork) -> int:
    """Return tasks whose lease ran out to the queue (claims also take them directly)."""
    result = await uow.session.execute(
        update(Task)
        .where(Task.status == TaskStatus.LEASED, Task.lease_expires_at < uow.now())  # type: ignore[operator]
        .values(status=TaskStatus.OPEN, lease_token=None, lease_expires_at=None, holder_id=None)
    )
    return result.rowcount or 0
