"""Supervision of the central queue: operators and their qualifications, the access log, and
the failed sign-ins of a municipality."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotFound, VendorStaffDirection
from app.domain.roles import Principal, Role, direction_refusal
from app.services.stats import actor_names
from app.services.uow import UnitOfWork
from app.storage import people as people_store
from app.storage import supervision as supervision_store
from app.storage.tables import ApiToken, Staff


@dataclass(frozen=True)
class OperatorView:
    id: str
    token_id: str | None
    staff_id: str | None
    name: str
    employer: str | None
    qualifications: list[str] | None
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Operator:
    """An operator a director may direct: a person, or an operator token of no person."""

    row: ApiToken | Staff

    @property
    def is_person(self) -> bool:
        return isinstance(self.row, Staff)


@dataclass(frozen=True)
class AccessEntry:
    id: int
    at: datetime
    actor_id: str
    actor_name: str | None
    actor_role: str
    action: str
    entity: str
    entity_id: str
    my_number_shown: bool
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class SignInFailure:
    at: datetime
    staff_id: str
    person_id: str | None
    reason: str


def _view(row: ApiToken | Staff) -> OperatorView:
    if isinstance(row, Staff):
        return OperatorView(
            id=row.id,
            token_id=None,
            staff_id=row.staff_id,
            name=row.name,
            employer=row.employer,
            qualifications=row.qualifications,
            created_at=row.created_at,
            expires_at=None,
        )
    return OperatorView(
        id=row.id,
        token_id=row.id,
        staff_id=None,
        name=row.name,
        employer=row.employer,
        qualifications=row.qualifications,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def list_operators(uow: UnitOfWork, principal: Principal) -> list[OperatorView]:
    """The municipality's operators by name (the vendor's 管理責任者: the vendor's only)."""
    staff, tokens = await supervision_store.list_operators(
        uow.session, principal.municipality_code, vendor_only=principal.role is Role.VENDOR_MANAGER
    )
    now = uow.now()
    usable = [t for t in tokens if t.expires_at is None or t.expires_at > now]
    people: list[Staff | ApiToken] = [*staff, *usable]
    listed = [_view(row) for row in people]
    return sorted(listed, key=lambda o: (o.name, o.created_at))


async def direct_operator(uow: UnitOfWork, principal: Principal, operator_id: str) -> Operator:
    """An operator by person id, or an operator token of no person by its id, locked; only
    the director of the operator's employer directs them (DOMAIN.md §3.3)."""
    operator = await _operator(uow, principal, operator_id)
    why = direction_refusal(principal, operator.row.employer)
    if why:
        raise VendorStaffDirection(why, token_id=operator_id)
    return operator


async def _operator(uow: UnitOfWork, principal: Principal, operator_id: str) -> Operator:
    person = await supervision_store.lock_staff(uow.session, operator_id)
    if (
        person is not None
        and person.municipality_code == principal.municipality_code
        and person.role == Role.OPERATOR
        and person.is_active
    ):
        return Operator(person)
    token = await supervision_store.lock_token(uow.session, operator_id)
    if (
        token is None
        or token.municipality_code != principal.municipality_code
        or token.role != Role.OPERATOR
        or token.revoked_at is not None
        or token.staff_id is not None
    ):
        raise NotFound("オペレーターが見つかりません (no such operator)", token_id=operator_id)
    return Operator(token)


async def set_qualifications(
    uow: UnitOfWork,
    principal: Principal,
    operator: Operator,
    qualifications: list[str] | None,
    *,
    forget_token: Callable[[str], None],
) -> OperatorView:
    """Set the procedures the operator may work on (None: every one); logged. The tokens
    concerned are forgotten by ``forget_token`` once this commits (next claim: new rules)."""
    catalogue = load_catalogue()
    if qualifications is not None:
        unknown = [code for code in qualifications if catalogue.find(code) is None]
        if unknown:
            raise InvalidInput(
                "未登録の手続です (unknown procedure codes)",
                [
                    {
                        "field": f"[{i}]",
                        "code": "unknown_procedure",
                        "message": f"{code}: 未登録の手続です (unknown)",
                    }
                    for i, code in enumerate(qualifications)
                    if code in unknown
                ],
            )
        # Stored in the catalogue's order, each code once.
        wanted = set(qualifications)
        qualifications = [code for code in catalogue.codes if code in wanted]
    row = operator.row
    before = row.qualifications
    row.qualifications = qualifications
    if isinstance(row, Staff):
        # The person's tokens carry the person's qualifications: drop what this process remembers.
        linked = await supervision_store.person_token_ids(uow.session, row.id)
        row.updated_at = uow.now()

        def forget_linked() -> None:
            for linked_id in linked:
                forget_token(linked_id)

        uow.after_commit(forget_linked)
    else:
        token_id = row.id
        uow.after_commit(lambda: forget_token(token_id))
    uow.log(
        entity="staff" if isinstance(row, Staff) else "api_token",
        entity_id=row.id,
        action="qualifications",
        municipality_code=principal.municipality_code,
        data={"from": before, "to": qualifications},
    )
    return _view(row)


async def access_log_page(
    uow: UnitOfWork,
    municipality_code: str,
    *,
    entity_id: str | None,
    actor_id: str | None,
    my_number_shown: bool | None,
    before: int | None,
    limit: int,
) -> tuple[list[AccessEntry], bool]:
    """Up to ``limit`` access-log entries, newest first, with the actors' names; and whether
    older ones follow."""
    rows = await supervision_store.access_log_page(
        uow.session,
        municipality_code,
        entity_id=entity_id,
        actor_id=actor_id,
        my_number_shown=my_number_shown,
        before=before,
        limit=limit + 1,
    )
    page = rows[:limit]
    names = await actor_names(uow, municipality_code, {row.actor_id for row in page})
    entries = [
        AccessEntry(
            id=row.id or 0,
            at=row.at,
            actor_id=row.actor_id,
            actor_name=names.get(row.actor_id),
            actor_role=row.actor_role,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            my_number_shown=row.my_number_shown,
            detail=row.detail,
        )
        for row in page
    ]
    return entries, len(rows) > limit


async def sign_in_failures(
    uow: UnitOfWork, municipality_code: str, since: datetime | None, limit: int
) -> list[SignInFailure]:
    """Failed sign-ins of the municipality, newest first (DOMAIN.md §7.12 report)."""
    rows = await people_store.login_failures(uow.session, municipality_code, since, limit)
    return [
        SignInFailure(
            at=row.at,
            staff_id=str((row.data or {}).get("staff_id", "")),
            person_id=None if row.entity_id.startswith("unknown:") else row.entity_id,
            reason=str((row.data or {}).get("reason", "")),
        )
        for row in rows
    ]
