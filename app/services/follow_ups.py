"""A move as a life event: its follow-ups become work for other departments when it is approved.

The rules (who owes what, by when) are in app.domain.follow_ups, read from the catalogue; this
module stores them once per application, person and kind, lists a department's queue, and shows a
supervisor the move and its follow-ups as one case. Follow-ups are the city's work: vendor staff
neither see nor take them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from app.domain.catalogue import RecipientOf, load_catalogue, load_follow_ups
from app.domain.deadlines import Calendar
from app.domain.errors import InvalidInput, NotAllowed, NotFound
from app.domain.follow_ups import follow_ups_for
from app.domain.prompts import is_claimant, movers
from app.domain.roles import Employer, Principal
from app.storage import application_views as application_views_store
from app.storage import claimants
from app.storage import follow_ups as store
from app.storage.tables import Application, FollowUp
from app.storage.uow import UnitOfWork

STATUSES = ("open", "cancelled")


def _city_staff(principal: Principal) -> None:
    if principal.employer is Employer.VENDOR:
        raise NotAllowed("移動に伴う手続は市の業務です (follow-ups of a move are the city's work)")


async def _recipients(uow: UnitOfWork, application: Application) -> dict[str, set[str]]:
    """Member path → the procedures that person holds an approved claim of (the person rules
    that ask for it only)."""
    wanted = sorted(
        {s.who.procedure for s in load_follow_ups().follow_ups if isinstance(s.who, RecipientOf)}
    )
    moved = movers(load_catalogue().get(application.procedure), application.values)
    if not wanted or not moved:
        return {}
    claims = await claimants.approved_claims_of(
        uow.session, application.municipality_code, wanted, moved
    )
    held: dict[str, set[str]] = {}
    for mover in moved:
        for claim in claims:
            if is_claimant(mover, claim):
                held.setdefault(mover.member, set()).add(claim.procedure)
    return held


async def on_approval(uow: UnitOfWork, application: Application) -> list[FollowUp]:
    """Create the approved move's follow-ups not yet created; the ones created now.

    Keyed by application, person and kind: a move approved again (after a correction) adds only
    what the corrected form newly makes due.
    """
    procedure = load_catalogue().get(application.procedure)
    if procedure.code not in load_follow_ups().moves:
        return []
    due = follow_ups_for(
        procedure,
        application.values,
        Calendar(),
        recipients=await _recipients(uow, application),
    )
    have = await store.keys_of(uow.session, application.id)
    now = uow.now()
    new = [
        FollowUp(
            municipality_code=application.municipality_code,
            application_id=application.id,
            member=f.member,
            kind=f.kind,
            department=f.department,
            due_on=f.due_on,
            created_at=now,
            updated_at=now,
        )
        for f in due
        if (f.member, f.kind) not in have
    ]
    if new:
        await store.add(uow.session, new)
        uow.log(
            entity="application",
            entity_id=application.id,
            action="follow_ups.created",
            municipality_code=application.municipality_code,
            data={"follow_ups": [{"id": f.id, "kind": f.kind, "member": f.member} for f in new]},
        )
    return new


async def on_withdrawal(uow: UnitOfWork, application: Application) -> int:
    """A withdrawn move's open follow-ups are cancelled."""
    return await store.cancel_open(uow.session, application.id, uow.now())


@dataclass(frozen=True)
class FollowUpView:
    id: str
    application_id: str
    move: str
    member: str
    kind: str
    name_ja: str
    name_en: str
    department: str
    department_ja: str
    department_en: str
    due_on: date | None
    status: str
    created_at: datetime


def _view(row: FollowUp, move: str) -> FollowUpView:
    catalogue = load_follow_ups()
    spec = next((s for s in catalogue.follow_ups if s.kind == row.kind), None)
    department = next((d for d in catalogue.departments if d.code == row.department), None)
    return FollowUpView(
        id=row.id,
        application_id=row.application_id,
        move=move,
        member=row.member,
        kind=row.kind,
        name_ja=spec.name_ja if spec else row.kind,
        name_en=spec.name_en if spec else row.kind,
        department=row.department,
        department_ja=department.name_ja if department else row.department,
        department_en=department.name_en if department else row.department,
        due_on=row.due_on,
        status=row.status,
        created_at=row.created_at,
    )


async def department_queue(
    uow: UnitOfWork,
    principal: Principal,
    *,
    department: str | None,
    status: str | None,
    limit: int,
) -> list[FollowUpView]:
    """A department's follow-ups of the caller's municipality, earliest due first."""
    _city_staff(principal)
    known = {d.code for d in load_follow_ups().departments}
    if department is not None and department not in known:
        raise InvalidInput.field(
            "department",
            "unknown_department",
            f"課は {', '.join(sorted(known))} のいずれかです (unknown department)",
        )
    if status is not None and status not in STATUSES:
        raise InvalidInput.field(
            "status", "unknown_status", "状態は open か cancelled です (open or cancelled)"
        )
    rows = await store.queue_of(
        uow.session, principal.municipality_code, department=department, status=status, limit=limit
    )
    return [_view(row, move) for row, move in rows]


@dataclass(frozen=True)
class LifeEvent:
    application: Application
    members: int
    follow_ups: list[FollowUpView]
    departments: Mapping[str, int]  # open follow-ups per department


async def life_event(uow: UnitOfWork, principal: Principal, application_id: str) -> LifeEvent:
    """The move and every follow-up it made due, as one case."""
    _city_staff(principal)
    application = await application_views_store.find_application(uow.session, application_id)
    if application is None or application.municipality_code != principal.municipality_code:
        raise NotFound("申請が見つかりません (no such application)", application_id=application_id)
    rows = await store.of_application(uow.session, principal.municipality_code, application_id)
    views = [_view(row, application.procedure) for row in rows]
    departments: dict[str, int] = {}
    for view in views:
        if view.status == "open":
            departments[view.department] = departments.get(view.department, 0) + 1
    members = application.values.get("members") or []
    return LifeEvent(
        application, len(members) if isinstance(members, list) else 0, views, departments
    )


@dataclass(frozen=True)
class DepartmentStop:
    """A department a ticket's move still owes procedures to: its name and open count only."""

    department: str
    name_ja: str
    name_en: str
    open: int


async def departments_of_move(
    uow: UnitOfWork, municipality_code: str, application_id: str | None
) -> list[DepartmentStop]:
    """The departments with open follow-ups of a move (the counter's next stops of a life
    event), earliest due first; no person, name or number."""
    if application_id is None:
        return []
    rows = await store.of_application(uow.session, municipality_code, application_id)
    counts: dict[str, int] = {}
    for row in rows:
        if row.status == "open":
            counts[row.department] = counts.get(row.department, 0) + 1
    catalogue = load_follow_ups()
    names = {d.code: (d.name_ja, d.name_en) for d in catalogue.departments}
    return [
        DepartmentStop(code, *names.get(code, (code, code)), open=count)
        for code, count in counts.items()
    ]
