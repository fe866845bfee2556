"""The central entry and review queue: claim, heartbeat, submit, release (DOMAIN.md §3, §6)."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.domain.applications import (
    DECISIONS,
    ApplicationStatus,
    Outcome,
    TaskKind,
    TaskStatus,
    concrete_fields,
    editable,
    get_path,
    next_status,
    refusal,
    risky_paths,
    same_value,
    set_path,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import business_day
from app.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    OpenProblems,
    ProblemsFound,
    StaleLease,
    VendorStaffDirection,
    WarningsNotAcknowledged,
)
from app.domain.fields import require_strict_types, validate_fields
from app.domain.roles import Employer, Principal, Role, direction_refusal
from app.domain.validators import errors_in, warnings_in, with_levels
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
from app.services import intake, prompts
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
        uow.session, municipality_code=task.municipality_code, household_key=task.household_key,
        holder_id=holder, now=uow.now(),
    )
    uow.log(entity="task", entity_id=task.id, action="release", municipality_code=task.municipality_code,
            from_status=TaskStatus.LEASED, to_status=TaskStatus.OPEN, data={"holder": holder})
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
    application = await finish_task(
        uow, principal, task, values=values, decision=decision, reason=reason,
        application=application, submit_with_problems=submit_with_problems, acknowledge=acknowledge,
    )
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
    submit_with_problems: bool = False,
    acknowledge: list[dict[str, str]] | None = None,
) -> Application:
    """Record a task's work and open the next step; the caller has made sure it may act on it.

    The one path for keyed values and decisions, whether they come from an operator's lease
    on the task or from a vendor's batch (then ``principal`` is the vendor's operator).
    ``application``, when given, is the task's application already locked by the caller.
    Keyed values with error-level problems need ``submit_with_problems`` (問題ありで送信);
    an approval needs every open warning named in ``acknowledge`` and no open error.
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
        if decision is None or (values is not None) != (decision == Outcome.CORRECT):
            if decision == Outcome.CORRECT:
                raise InvalidInput.field("values", "required",
                                         "訂正する値を送ってください (send the corrected values)")
            raise InvalidInput.field("decision", "required", "審査結果を指定してください (give a decision)")
        result = await _decide(uow, principal, application, decision, reason, acknowledge or [],
                               values=values, submit_with_problems=submit_with_problems)
    else:
        if values is None or decision is not None:
            raise InvalidInput.field("values", "required", "入力値を送ってください (send the keyed values)")
        result = await _key(uow, principal, task, application, kind, values,
                            submit_with_problems=submit_with_problems)
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
                {"reason": reason} if reason else {}), **{
                key: result[key] for key in ("submitted_with_problems", "acknowledged", "corrected")
                if result.get(key)}})
    return application


async def _key(
    uow: UnitOfWork, principal: Principal, task: Task, application: Application, kind: TaskKind,
    submitted: dict[str, Any], *, submit_with_problems: bool,
) -> dict[str, Any]:
    procedure = load_catalogue().get(application.procedure)
    today = business_day(uow.now())
    if kind is TaskKind.ENTRY:
        require_strict_types(procedure, submitted, "values.")
        keyed = _unmask(submitted, application.values)
        values, problems = validate_fields(procedure, keyed, today)
        found = _check_problems(problems, None, submit_with_problems)
        # A field changed since the last keying is verified blind like a risky one (a returned or
        # reopened application's corrections are checked by a second person too).
        changed = (
            _changed_paths(procedure, application.values, values) if application.handled_by else []
        )
        application.values = values
        application.problems = [dict(p) for p in problems]
        application.entry_employer = principal.employer
        risky = risky_paths(procedure, values, application.ocr, {p["field"] for p in problems},
                            uow.settings.queue.confidence_threshold)
        risky += [p for p in changed if p not in risky]
        outcome, fields, keyed_paths = Outcome.KEYED, risky, sorted(submitted)
    else:
        paths = task.field_keys
        missing = [p for p in paths if p not in submitted]
        if missing:
            raise InvalidInput("照合する項目が足りません (keyed fields missing)", [
                {"field": p, "code": "required", "message": "入力してください (required)"} for p in missing])
        # The stored form as written (dates as keyed, not normalised), with the keyed fields.
        candidate: dict[str, Any] = editable(procedure, application.values)
        for path in paths:
            set_path(candidate, path, submitted[path])
        require_strict_types(procedure, candidate, "values.", only=paths)
        normalised, problems = validate_fields(procedure, candidate, today)
        if kind is TaskKind.SETTLE:
            # Settling decides the value: a required field cannot be settled as empty.
            empty = [p for p in problems if p["code"] == "required" and p["field"] in paths]
            if empty:
                raise InvalidInput("必須項目を空にはできません (a required field cannot be settled empty)",
                                   with_levels(empty))
        found = _check_problems(problems, set(paths), submit_with_problems)
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
    # What the step found, for the answer: a blind verifier hears only of the fields they keyed.
    result["problems"] = with_levels(
        [p for p in problems if kind is not TaskKind.VERIFY or p["field"] in keyed_paths])
    if found:
        # Recorded in the history: which problems the operator chose to send on.
        result["submitted_with_problems"] = [f"{p['field']}:{p['code']}" for p in found]
    if outcome is Outcome.MISMATCHED:
        result["mismatched"] = fields
        result["verify_values"] = (task.result or {}).get("verify_values", {})
    return result


def _check_problems(
    problems: list[dict[str, str]], paths: set[str] | None, submit_with_problems: bool
) -> list[dict[str, str]]:
    """The error-level problems in the keyed fields (all fields when ``paths`` is None).

    Without ``submit_with_problems`` they refuse the submit (422, nothing changes); with it they
    are accepted and returned, to be recorded in the history.
    """
    found = [p for p in errors_in(problems) if paths is None or p["field"] in paths]
    if found and not submit_with_problems:
        raise ProblemsFound(
            "入力に問題があります。直すか「問題ありで送信」を選んでください "
            "(the keyed values have problems: correct them or send submit_with_problems)",
            with_levels(found),
        )
    return found


def _changed_paths(procedure: Any, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Leaf fields whose value differs between two normalised forms (added or removed too)."""
    old = {p: v for p, _s, v in concrete_fields(procedure, before)}
    new = {p: v for p, _s, v in concrete_fields(procedure, after)}
    return [p for p in dict.fromkeys([*new, *old]) if not same_value(old.get(p), new.get(p))]


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
    uow: UnitOfWork, principal: Principal, application: Application, decision: str,
    reason: str | None, acknowledge: list[dict[str, str]], *, values: dict[str, Any] | None = None,
    submit_with_problems: bool = False,
) -> dict[str, Any]:
    try:
        outcome = Outcome(decision)
    except ValueError:
        outcome = None
    if outcome not in DECISIONS or outcome is None:
        raise InvalidInput.field("decision", "invalid_decision",
                                 "approve / return / correct / reject のいずれかです "
                                 "(approve, return, correct or reject)")
    if outcome is not Outcome.APPROVE and not (reason and reason.strip()):
        raise InvalidInput.field("reason", "required", "理由を入力してください (a reason is required)")
    if outcome is Outcome.REJECT and application.core_seq is not None:
        # Approved before and reopened for correction: the core system holds the record, so it
        # is corrected (approved again) or withdrawn, never silently left behind as rejected.
        raise InvalidTransition(entity="application", current="reopened", action=outcome)
    result: dict[str, Any] = {"outcome": outcome.value, "reason": reason}
    if outcome is Outcome.APPROVE:
        result["acknowledged"] = _check_approvable(application, acknowledge)
    if outcome is Outcome.CORRECT:
        assert values is not None
        result |= await _correct(uow, principal, application, values, submit_with_problems)
        return result
    application.status = next_status(ApplicationStatus(application.status), outcome)
    application.decided_at = uow.now() if outcome is not Outcome.RETURN else None
    if outcome is Outcome.APPROVE:
        application.core_seq = await _next_core_seq(uow, application.municipality_code)
        await _call_back_resident(uow, application)
        await prompts.on_approval(uow, application)  # 氏名・住所変更届 (DOMAIN.md §7.23)
    elif outcome is Outcome.RETURN:
        application.return_reason = reason
        await _open_task(uow, application, TaskKind.ENTRY, queue=correction_queue(application),
                         note=reason)
    else:
        application.return_reason = reason
    result["problems"] = with_levels(application.problems)
    return result


def correction_queue(application: Application) -> str:
    """Corrections of vendor-keyed work go to the vendor's manager, never to its operator."""
    return "vendor_manager" if application.entry_employer == Employer.VENDOR else "central"


def _check_approvable(application: Application, acknowledge: list[dict[str, str]]) -> list[str]:
    """Refuse approval while an error is open or a warning is not acknowledged by name.

    Returns the acknowledged warnings as ``field:code``, for the history.
    """
    open_errors = errors_in(application.problems)
    if open_errors:
        raise OpenProblems(
            "未解決の問題があるため承認できません。差し戻すか訂正してください "
            "(open problems: return or correct the application before approving)",
            with_levels(open_errors),
        )
    named = {(a.get("field"), a.get("code")) for a in acknowledge}
    warnings = warnings_in(application.problems)
    unacknowledged = [w for w in warnings if (w["field"], w["code"]) not in named]
    if unacknowledged:
        raise WarningsNotAcknowledged(
            "警告を確認して acknowledge に挙げてください (acknowledge each warning to approve)",
            with_levels(unacknowledged),
        )
    return [f"{w['field']}:{w['code']}" for w in warnings]


async def _correct(
    uow: UnitOfWork, principal: Principal, application: Application, submitted: dict[str, Any],
    submit_with_problems: bool,
) -> dict[str, Any]:
    """A reviewer's correction: the changed fields go to a blind verify by someone else.

    ``submitted`` maps field paths (``members[0].birth_date``) to corrected values. The reviewer
    joins those who handled the application, so neither they nor the earlier keyers verify it,
    and another reviewer reviews it again.
    """
    procedure = load_catalogue().get(application.procedure)
    candidate = editable(procedure, application.values)
    for path, value in submitted.items():
        if not isinstance(path, str) or not path:
            raise InvalidInput.field("values", "invalid_path", "項目名が不正です (invalid field path)")
        stored = get_path(application.values, path)
        if isinstance(value, str) and value.startswith("*") and isinstance(stored, str) and (
            value == mask_my_number(stored)
        ):
            continue  # a masked My Number sent back as shown: unchanged
        try:
            set_path(candidate, path, value)
        except (ValueError, TypeError, AttributeError, IndexError):
            raise InvalidInput.field(f"values.{path}", "invalid_path",
                                     "項目名が不正です (invalid field path)") from None
    normalised, problems = validate_fields(procedure, candidate, business_day(uow.now()))
    changed = _changed_paths(procedure, application.values, normalised)
    if not changed:
        raise InvalidInput.field("values", "unchanged", "訂正された項目がありません (nothing was changed)")
    found = _check_problems(problems, set(changed), submit_with_problems)
    application.values = normalised
    application.problems = [dict(p) for p in problems]
    application.handled_by = [*application.handled_by, principal.person_id]
    application.status = next_status(ApplicationStatus(application.status), Outcome.CORRECT)
    await _open_task(uow, application, TaskKind.VERIFY, field_keys=changed,
                     note="審査担当による訂正の照合 (verify a reviewer's correction)")
    result: dict[str, Any] = {
        "corrected": changed, "needs_verify": True, "problems": with_levels(problems),
    }
    if found:
        result["submitted_with_problems"] = [f"{p['field']}:{p['code']}" for p in found]
    return result


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


def _city_staff(principal: Principal) -> None:
    """Withdrawals and corrections of a decided application are the city's (DOMAIN.md §3.2)."""
    city_role = principal.role in (Role.REVIEWER, Role.SUPERVISOR)
    if not city_role or principal.employer is Employer.VENDOR:
        raise NotAllowed("取下げ・訂正は市職員のみ (withdrawals and corrections are for city staff)")


async def _locked_application(
    uow: UnitOfWork, principal: Principal, application_id: str
) -> Application:
    application = (await uow.session.execute(
        select(Application)
        .where(Application.id == application_id,
               Application.municipality_code == principal.municipality_code)
        .with_for_update().execution_options(populate_existing=True)
    )).scalars().first()
    if application is None:
        raise NotFound("申請が見つかりません (no such application)", application_id=application_id)
    return application


def _required_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput.field("reason", "required", "理由を入力してください (a reason is required)")
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
    tasks = (await uow.session.execute(
        select(Task).where(
            Task.application_id == application.id,
            Task.status.in_([TaskStatus.OPEN, TaskStatus.LEASED]),  # type: ignore[attr-defined]
        )
        .with_for_update()
    )).scalars().all()
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
                uow.session, municipality_code=task.municipality_code,
                household_key=task.household_key, holder_id=holder, now=uow.now(),
            )
        uow.log(entity="task", entity_id=task.id, action="cancel",
                municipality_code=task.municipality_code, from_status=was,
                to_status=TaskStatus.CANCELLED, data={"reason": "withdrawn", "holder": holder})
    application.updated_at = uow.now()
    feed_seq = None
    if application.core_seq is not None:
        # Approved once (perhaps reopened for correction since): the core system has the record
        # and hears of the withdrawal at a new position.
        application.core_seq = feed_seq = await _next_core_seq(uow, application.municipality_code)
    if application.ticket_id is not None:
        await uow.session.execute(
            update(Ticket).where(Ticket.id == application.ticket_id)
            .values(progress=application.status)
        )
    uow.log(entity="application", entity_id=application.id,
            action=f"application.{Outcome.WITHDRAW}",
            municipality_code=application.municipality_code,
            from_status=before, to_status=application.status,
            data={"reason": reason, "cancelled_tasks": [t.id for t in tasks],
                  **({"core_seq": feed_seq} if feed_seq is not None else {})})
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
    task = await _open_task(uow, application, TaskKind.ENTRY, queue=correction_queue(application),
                            note=reason)
    uow.log(entity="application", entity_id=application.id,
            action=f"application.{Outcome.REOPEN}",
            municipality_code=application.municipality_code,
            from_status=before, to_status=application.status,
            data={"reason": reason, "task": task.id})
    return application, task
