"""Queue figures for supervisors: depth, oldest, due today, overdue, throughput, who does what."""

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select

from app.domain.applications import TaskStatus
from app.domain.clock import business_day
from app.services.uow import UnitOfWork
from app.storage.tables import ApiToken, Application, Staff, Task


async def queue_stats(uow: UnitOfWork, municipality_code: str) -> dict[str, Any]:
    now = uow.now()
    today = business_day(now)
    active = [TaskStatus.OPEN, TaskStatus.LEASED]
    rows = (await uow.session.execute(
        select(
            Task.procedure, Task.kind, Task.status,
            func.count(), func.min(Task.created_at),
            func.sum(case((Application.due_on == today, 1), else_=0)),
            func.sum(case((Application.due_on < today, 1), else_=0)),  # type: ignore[operator]
        )
        .join(Application, Application.id == Task.application_id)  # type: ignore[arg-type]
        .where(Task.municipality_code == municipality_code, Task.status.in_(active))  # type: ignore[attr-defined]
        .group_by(Task.procedure, Task.kind, Task.status)
    )).all()
    steps: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"open": 0, "leased": 0, "depth": 0, "oldest_at": None, "oldest_age_s": 0,
                 "due_today": 0, "overdue": 0, "done_last_hour": 0}
    )
    for procedure, kind, status, count, oldest, due_today, overdue in rows:
        entry = steps[(procedure, kind)]
        entry[status] += count
        entry["depth"] += count
        entry["due_today"] += int(due_today or 0)
        entry["overdue"] += int(overdue or 0)
        if oldest is not None and (entry["oldest_at"] is None or oldest < entry["oldest_at"]):
            entry["oldest_at"] = oldest
            entry["oldest_age_s"] = int((now - oldest).total_seconds())
    hour_ago = now - timedelta(hours=1)
    for procedure, kind, count in (await uow.session.execute(
        select(Task.procedure, Task.kind, func.count())
        .where(Task.municipality_code == municipality_code, Task.status == TaskStatus.DONE,
               Task.completed_at >= hour_ago)  # type: ignore[operator]
        .group_by(Task.procedure, Task.kind)
    )).all():
        steps[(procedure, kind)]["done_last_hour"] += count
    day_ago = now - timedelta(hours=24)
    operators: dict[str, dict[str, Any]] = defaultdict(lambda: {"done_24h": 0, "holding": []})
    for holder, kind, count in (await uow.session.execute(
        select(Task.completed_by, Task.kind, func.count())
        .where(Task.municipality_code == municipality_code, Task.status == TaskStatus.DONE,
               Task.completed_at >= day_ago)  # type: ignore[operator]
        .group_by(Task.completed_by, Task.kind)
    )).all():
        operators[holder]["done_24h"] += count
        operators[holder].setdefault("by_kind", {})[kind] = count
    for task_id, holder, kind, procedure, expires in (await uow.session.execute(
        select(Task.id, Task.holder_id, Task.kind, Task.procedure, Task.lease_expires_at)
        .where(Task.municipality_code == municipality_code, Task.status == TaskStatus.LEASED)
    )).all():
        operators[holder]["holding"].append(
            {"task_id": task_id, "kind": kind, "procedure": procedure, "lease_expires_at": expires,
             "stuck": expires is not None and expires < now})
    people = await actor_details(uow, municipality_code, set(operators))
    return {
        "at": now,
        "steps": [{"procedure": p, "kind": k, **{**v, "oldest_at": v["oldest_at"]}}
                  for (p, k), v in sorted(steps.items())],
        # person_id: a staff member (all their tokens and sessions) or a token of no person;
        # token_id repeats it for older readers. employer: a supervisor sees the vendor's
        # operators' counts but directs only city staff.
        "operators": [{"person_id": t, "token_id": t, "name": people.get(t, (t, None))[0],
                       "employer": people.get(t, (t, None))[1], **v}
                      for t, v in sorted(operators.items())],
    }


async def actor_names(uow: UnitOfWork, municipality_code: str, ids: set[str]) -> dict[str, str]:
    """Names of the people (staff) and tokens the logs and the queue name as actors."""
    return {k: name for k, (name, _employer) in (await actor_details(uow, municipality_code, ids)).items()}


async def actor_details(
    uow: UnitOfWork, municipality_code: str, ids: set[str]
) -> dict[str, tuple[str, str | None]]:
    """(name, employer) of the people (staff) and tokens the logs and the queue name as actors."""
    if not ids:
        return {}
    details: dict[str, tuple[str, str | None]] = {
        row[0]: (row[1], row[2]) for row in (await uow.session.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.employer).where(
                ApiToken.municipality_code == municipality_code,
                ApiToken.id.in_(ids))  # type: ignore[attr-defined]
        )).all()}
    details.update((row[0], (row[1], row[2])) for row in (await uow.session.execute(
        select(Staff.id, Staff.name, Staff.employer).where(
            Staff.municipality_code == municipality_code,
            Staff.id.in_(ids))  # type: ignore[attr-defined]
    )).all())
    return details
