"""Queue figures for supervisors: depth, oldest, due today, overdue, throughput, who does what."""

from collections import defaultdict
from datetime import timedelta
from typing import Any

from app.domain.clock import business_day
from app.storage import stats as store
from app.storage.uow import UnitOfWork


async def queue_stats(uow: UnitOfWork, municipality_code: str) -> dict[str, Any]:
    now = uow.now()
    today = business_day(now)
    steps: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "open": 0,
            "leased": 0,
            "depth": 0,
            "oldest_at": None,
            "oldest_age_s": 0,
            "due_today": 0,
            "overdue": 0,
            "done_last_hour": 0,
        }
    )
    for row in await store.active_steps(uow.session, municipality_code, today):
        entry = steps[(row.procedure, row.kind)]
        entry[row.status] += row.count
        entry["depth"] += row.count
        entry["due_today"] += row.due_today
        entry["overdue"] += row.overdue
        oldest = row.oldest
        if oldest is not None and (entry["oldest_at"] is None or oldest < entry["oldest_at"]):
            entry["oldest_at"] = oldest
            entry["oldest_age_s"] = int((now - oldest).total_seconds())
    for procedure, kind, count in await store.done_per_step(
        uow.session, municipality_code, now - timedelta(hours=1)
    ):
        steps[(procedure, kind)]["done_last_hour"] += count
    operators: dict[Any, dict[str, Any]] = defaultdict(lambda: {"done_24h": 0, "holding": []})
    for holder, kind, count in await store.done_per_person(
        uow.session, municipality_code, now - timedelta(hours=24)
    ):
        operators[holder]["done_24h"] += count
        operators[holder].setdefault("by_kind", {})[kind] = count
    for held in await store.leased_tasks(uow.session, municipality_code):
        expires = held.lease_expires_at
        operators[held.holder_id]["holding"].append(
            {
                "task_id": held.task_id,
                "kind": held.kind,
                "procedure": held.procedure,
                "lease_expires_at": expires,
                "stuck": expires is not None and expires < now,
            }
        )
    people = await actor_details(uow, municipality_code, set(operators))
    return {
        "at": now,
        "steps": [
            {"procedure": p, "kind": k, **{**v, "oldest_at": v["oldest_at"]}}
            for (p, k), v in sorted(steps.items())
        ],
        # person_id: a staff member (all their tokens and sessions) or a token of no person;
        # token_id repeats it for older readers. employer: a supervisor sees the vendor's
        # operators' counts but directs only city staff.
        "operators": [
            {
                "person_id": t,
                "token_id": t,
                "name": people.get(t, (t, None))[0],
                "employer": people.get(t, (t, None))[1],
                **v,
            }
            for t, v in sorted(operators.items())
        ],
    }


async def actor_names(uow: UnitOfWork, municipality_code: str, ids: set[str]) -> dict[str, str]:
    """Names of the people (staff) and tokens the logs and the queue name as actors."""
    return {
        k: name
        for k, (name, _employer) in (await actor_details(uow, municipality_code, ids)).items()
    }


async def actor_details(
    uow: UnitOfWork, municipality_code: str, ids: set[str]
) -> dict[str, tuple[str, str | None]]:
    """(name, employer) of the people (staff) and tokens the logs and the queue name as actors."""
    return await store.actor_details(uow.session, municipality_code, ids)
