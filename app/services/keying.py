"""Keyed work: entry, blind verify and settling, and the one path that finishes any task."""

from typing import Any

from app.domain.applications import (
    ApplicationStatus,
    Outcome,
    TaskKind,
    TaskStatus,
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
from app.domain.errors import InvalidInput, NotAllowed
from app.domain.fields import require_strict_types, validate_fields
from app.domain.roles import Principal
from app.domain.validators import with_levels
from app.domain.validators.codes import mask_my_number
from app.domain.visibility import city_only_fields, is_protected
from app.services.review import decide
from app.services.tasks import changed_paths, check_problems, next_task
from app.storage import work as work_store
from app.storage import work_submit as submit_store
from app.storage.tables import Application, Task
from app.storage.uow import UnitOfWork


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
    detached: bool = False,
) -> Application:
    """Record a task's work and open the next step; the caller has made sure it may act on it.

    The one path for keyed values and decisions, whether they come from an operator's lease
    on the task or from a vendor's batch (then ``principal`` is the vendor's operator).
    ``application``, when given, is the task's application already locked by the caller.
    Keyed values with error-level problems need ``submit_with_problems`` (問題ありで送信);
    an approval needs every open warning named in ``acknowledge`` and no open error.
    ``detached``: ``task`` and ``application`` were read outside the session (a submit's lock,
    app/storage/work_submit.py) and the step is a keyed one; its writes then go in one
    statement (PostgreSQL) with the command's log rows.
    """
    if application is None:
        application = await work_store.lock_application(uow.session, task.application_id)
    kind = TaskKind(task.kind)
    assert not (detached and kind is TaskKind.REVIEW), "a review goes through the session"
    task_before = submit_store.snapshot(task) if detached else {}
    application_before = submit_store.snapshot(application) if detached else {}
    why = refusal(
        principal,
        kind=kind,
        procedure=task.procedure,
        handled_by=application.handled_by,
        city_only=task.city_only,
    )
    if why:
        raise NotAllowed(why)
    before = ApplicationStatus(application.status)
    application.updated_at = uow.now()
    # The task is done before the next one is opened, so one flush writes both.
    task.status = TaskStatus.DONE
    task.completed_at = uow.now()
    task.completed_by = principal.person_id
    task.lease_token = None
    opened: tuple[Task, list[str]] | None = None
    if kind is TaskKind.REVIEW:
        if decision is None or (values is not None) != (decision == Outcome.CORRECT):
            if decision == Outcome.CORRECT:
                raise InvalidInput.field(
                    "values", "required", "訂正する値を送ってください (send the corrected values)"
                )
            raise InvalidInput.field(
                "decision", "required", "審査結果を指定してください (give a decision)"
            )
        result = await decide(
            uow,
            principal,
            application,
            decision,
            reason,
            acknowledge or [],
            values=values,
            submit_with_problems=submit_with_problems,
        )
    else:
        if values is None or decision is not None:
            raise InvalidInput.field(
                "values", "required", "入力値を送ってください (send the keyed values)"
            )
        result, opened = _key(
            uow,
            principal,
            task,
            application,
            kind,
            values,
            submit_with_problems=submit_with_problems,
        )
        if not detached:
            await work_store.add_task(uow.session, *opened)
    task.result = result
    # The resident's status page follows the application (approval calls them back).
    progress = (
        application.status
        if application.ticket_id is not None and application.status != ApplicationStatus.APPROVED
        else None
    )
    _log_finished(uow, task, application, kind, before, result, reason)
    if detached:
        assert opened is not None
        new_task, excluded = opened
        await submit_store.store_keyed(
            uow,
            task=task,
            task_before=task_before,
            application=application,
            application_before=application_before,
            next_task=new_task,
            excluded=excluded,
            progress=progress,
            holder_id=principal.person_id,
            now=uow.now(),
        )
        return application
    if progress is not None and application.ticket_id is not None:
        await work_store.set_ticket_progress(uow.session, application.ticket_id, progress)
    await work_store.free_household(
        uow.session,
        municipality_code=task.municipality_code,
        household_key=task.household_key,
        holder_id=principal.person_id,
        now=uow.now(),
    )
    return application


def _log_finished(
    uow: UnitOfWork,
    task: Task,
    application: Application,
    kind: TaskKind,
    before: ApplicationStatus,
    result: dict[str, Any],
    reason: str | None,
) -> None:
    uow.log(
        entity="application",
        entity_id=application.id,
        action=f"{kind}.{result['outcome']}",
        municipality_code=application.municipality_code,
        from_status=before,
        to_status=application.status,
        data={
            "task": task.id,
            "needs_verify": result.get("needs_verify", True),
            **({"reason": reason} if reason else {}),
            **{
                key: result[key]
                for key in ("submitted_with_problems", "acknowledged", "corrected")
                if result.get(key)
            },
        },
    )


def _key(
    uow: UnitOfWork,
    principal: Principal,
    task: Task,
    application: Application,
    kind: TaskKind,
    submitted: dict[str, Any],
    *,
    submit_with_problems: bool,
) -> tuple[dict[str, Any], tuple[Task, list[str]]]:
    """The keyed step's result, and the next task with who may not take it (not stored)."""
    procedure = load_catalogue().get(application.procedure)
    today = business_day(uow.now())
    if kind is TaskKind.ENTRY:
        require_strict_types(procedure, submitted, "values.")
        keyed = _unmask(submitted, application.values)
        values, problems = validate_fields(procedure, keyed, today)
        found = check_problems(problems, None, submit_with_problems)
        # A field changed since the last keying is verified blind like a risky one (a returned or
        # reopened application's corrections are checked by a second person too).
        changed = (
            changed_paths(procedure, application.values, values) if application.handled_by else []
        )
        application.values = values
        application.problems = [dict(p) for p in problems]
        application.entry_employer = principal.employer
        risky = risky_paths(
            procedure,
            values,
            application.ocr,
            {p["field"] for p in problems},
            uow.settings.queue.confidence_threshold,
        )
        risky += [p for p in changed if p not in risky]
        outcome, fields, keyed_paths = Outcome.KEYED, risky, sorted(submitted)
    else:
        paths = task.field_keys
        missing = [p for p in paths if p not in submitted]
        if missing:
            raise InvalidInput(
                "照合する項目が足りません (keyed fields missing)",
                [
                    {"field": p, "code": "required", "message": "入力してください (required)"}
                    for p in missing
                ],
            )
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
                raise InvalidInput(
                    "必須項目を空にはできません (a required field cannot be settled empty)",
                    with_levels(empty),
                )
        found = check_problems(problems, set(paths), submit_with_problems)
        if kind is TaskKind.VERIFY:
            differing = [
                p
                for p in paths
                if not same_value(get_path(normalised, p), get_path(application.values, p))
            ]
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
    extra: dict[str, Any] = {
        "field_keys": fields if next_kind in (TaskKind.VERIFY, TaskKind.SETTLE) else []
    }
    if next_kind is TaskKind.SETTLE:
        extra["note"] = "照合不一致 (verification mismatch)"
        # Settling a My Number shows both keyings in full: city staff only.
        extra["city_only"] = bool(city_only_fields(procedure, fields))
    opened = next_task(uow, application, next_kind, **extra)
    result: dict[str, Any] = {
        "outcome": outcome.value,
        "keyed": keyed_paths,
        "needs_verify": bool(fields),
    }
    # What the step found, for the answer: a blind verifier hears only of the fields they keyed.
    result["problems"] = with_levels(
        [p for p in problems if kind is not TaskKind.VERIFY or p["field"] in keyed_paths]
    )
    if found:
        # Recorded in the history: which problems the operator chose to send on.
        result["submitted_with_problems"] = [f"{p['field']}:{p['code']}" for p in found]
    if outcome is Outcome.MISMATCHED:
        result["mismatched"] = fields
        result["verify_values"] = (task.result or {}).get("verify_values", {})
    return result, opened


def _unmask(submitted: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A masked My Number sent back unchanged keeps the stored number."""
    keyed = submitted  # ``walk`` builds new lists and dicts; the rest is immutable

    def walk(node: Any, original: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: walk(v, original.get(k) if isinstance(original, dict) else None)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [
                walk(v, original[i] if isinstance(original, list) and i < len(original) else None)
                for i, v in enumerate(node)
            ]
        if (
            isinstance(node, str)
            and isinstance(original, str)
            and node.startswith("*")
            and (node == mask_my_number(original))
        ):
            return original
        return node

    return walk(keyed, stored)  # type: ignore[no-any-return]
