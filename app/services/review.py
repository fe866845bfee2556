"""A reviewer's decision: approve, return, reject, or correct (a blind verify of the changes)."""

from typing import Any

from app.domain.applications import (
    DECISIONS,
    ApplicationStatus,
    Outcome,
    TaskKind,
    editable,
    get_path,
    next_status,
    set_path,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import business_day
from app.domain.errors import (
    InvalidInput,
    InvalidTransition,
    OpenProblems,
    WarningsNotAcknowledged,
)
from app.domain.fields import validate_fields
from app.domain.roles import Principal
from app.domain.validators import errors_in, warnings_in, with_levels
from app.domain.validators.codes import mask_my_number
from app.services import follow_ups, prompts
from app.services.tasks import (
    changed_paths,
    check_problems,
    correction_queue,
    next_core_seq,
    open_task,
)
from app.storage import lobby as lobby_store
from app.storage import tenancy
from app.storage import work as work_store
from app.storage.tables import Application
from app.storage.uow import UnitOfWork


async def decide(
    uow: UnitOfWork,
    principal: Principal,
    application: Application,
    decision: str,
    reason: str | None,
    acknowledge: list[dict[str, str]],
    *,
    values: dict[str, Any] | None = None,
    submit_with_problems: bool = False,
) -> dict[str, Any]:
    try:
        outcome = Outcome(decision)
    except ValueError:
        outcome = None
    if outcome not in DECISIONS or outcome is None:
        raise InvalidInput.field(
            "decision",
            "invalid_decision",
            "approve / return / correct / reject のいずれかです "
            "(approve, return, correct or reject)",
        )
    if outcome is not Outcome.APPROVE and not (reason and reason.strip()):
        raise InvalidInput.field(
            "reason", "required", "理由を入力してください (a reason is required)"
        )
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
        application.core_seq = await next_core_seq(uow, application.municipality_code)
        await _call_back_resident(uow, application)
        await prompts.on_approval(uow, application)  # 氏名・住所変更届 (DOMAIN.md §7.23)
        await follow_ups.on_approval(uow, application)  # a move's other departments
    elif outcome is Outcome.RETURN:
        application.return_reason = reason
        await open_task(
            uow, application, TaskKind.ENTRY, queue=correction_queue(application), note=reason
        )
    else:
        application.return_reason = reason
    result["problems"] = with_levels(application.problems)
    return result


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
    uow: UnitOfWork,
    principal: Principal,
    application: Application,
    submitted: dict[str, Any],
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
            raise InvalidInput.field(
                "values", "invalid_path", "項目名が不正です (invalid field path)"
            )
        stored = get_path(application.values, path)
        if (
            isinstance(value, str)
            and value.startswith("*")
            and isinstance(stored, str)
            and (value == mask_my_number(stored))
        ):
            continue  # a masked My Number sent back as shown: unchanged
        try:
            set_path(candidate, path, value)
        except (ValueError, TypeError, AttributeError, IndexError):
            raise InvalidInput.field(
                f"values.{path}", "invalid_path", "項目名が不正です (invalid field path)"
            ) from None
    normalised, problems = validate_fields(procedure, candidate, business_day(uow.now()))
    changed = changed_paths(procedure, application.values, normalised)
    if not changed:
        raise InvalidInput.field(
            "values", "unchanged", "訂正された項目がありません (nothing was changed)"
        )
    found = check_problems(problems, set(changed), submit_with_problems)
    application.values = normalised
    application.problems = [dict(p) for p in problems]
    application.handled_by = [*application.handled_by, principal.person_id]
    application.status = next_status(ApplicationStatus(application.status), Outcome.CORRECT)
    await open_task(
        uow,
        application,
        TaskKind.VERIFY,
        field_keys=changed,
        note="審査担当による訂正の照合 (verify a reviewer's correction)",
    )
    result: dict[str, Any] = {
        "corrected": changed,
        "needs_verify": True,
        "problems": with_levels(problems),
    }
    if found:
        result["submitted_with_problems"] = [f"{p['field']}:{p['code']}" for p in found]
    return result


async def _call_back_resident(uow: UnitOfWork, application: Application) -> None:
    """A resident waiting in the lobby is called back when their application is approved."""
    if application.ticket_id is None:
        return
    ticket = await work_store.lock_ticket(uow.session, application.ticket_id)
    if ticket is None or ticket.status == "cancelled":
        return
    ticket.progress = "ready"
    counter = await tenancy.get_counter(uow.session, ticket.counter_id)
    data: dict[str, Any] = {"number": ticket.number, "call_count": ticket.call_count, "queues": []}
    if counter is not None:
        data |= {"counter_id": counter.id, "counter_label": counter.label}
    seq = await lobby_store.append_event(
        uow.session,
        municipality_code=ticket.municipality_code,
        office_id=ticket.office_id,
        type_="ticket.ready",
        at=uow.now(),
        data=data,
    )
    uow.lobby_changed(ticket.office_id, seq)
