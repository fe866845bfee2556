"""What keying and review share: opening the next task, problems in keyed values, the core feed."""

from typing import Any

from app.domain import applications
from app.domain.applications import TaskKind, concrete_fields, excluded_from, same_value
from app.domain.errors import ProblemsFound
from app.domain.validators import errors_in, with_levels
from app.services import intake
from app.storage import work as work_store
from app.storage.tables import Application, Task
from app.storage.uow import UnitOfWork


def check_problems(
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


def changed_paths(procedure: Any, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Leaf fields whose value differs between two normalised forms (added or removed too)."""
    old = {p: v for p, _s, v in concrete_fields(procedure, before)}
    new = {p: v for p, _s, v in concrete_fields(procedure, after)}
    return [p for p in dict.fromkeys([*new, *old]) if not same_value(old.get(p), new.get(p))]


def next_task(
    uow: UnitOfWork, application: Application, kind: TaskKind, **extra: Any
) -> tuple[Task, list[str]]:
    """The application's next task, not stored yet, and who may not take it: nobody who
    handled the application may take a verify, settle or review."""
    queue = extra.pop("queue", "central")
    task = intake.new_task(application, kind, uow.now(), queue=queue, **extra)
    return task, excluded_from(kind, application.handled_by)


async def open_task(
    uow: UnitOfWork, application: Application, kind: TaskKind, **extra: Any
) -> Task:
    """The application's next task, added to the session with its four-eyes exclusions."""
    task, excluded = next_task(uow, application, kind, **extra)
    await work_store.add_task(uow.session, task, excluded)
    return task


def correction_queue(application: Application) -> str:
    """Corrections of vendor-keyed work go to the vendor's manager, never to its operator."""
    return applications.correction_queue(application.entry_employer)


async def next_core_seq(uow: UnitOfWork, municipality_code: str) -> int:
    """The next position in the core system's feed; the row lock orders approvals by commit."""
    return await work_store.next_core_seq(uow.session, municipality_code)
