"""Supervision of the central queue: operators' qualifications, the access log, who is calling.

Supervisors move operators between procedures (the change is logged and takes effect on the
operator's next claim) and read the access log; the console asks who it is talking to.
"""

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import Caller, SettingsDep, UowDep
from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotFound, VendorStaffDirection
from app.domain.roles import Employer, Principal, Role, direction_refusal
from app.domain.visibility import Viewer, may_reveal
from app.services.stats import actor_names
from app.services.uow import UnitOfWork
from app.storage.tables import AccessLog, ApiToken, Staff

router = APIRouter(tags=["supervision"])

Supervisor = Caller(Role.SUPERVISOR)
# Who directs operators: the city's supervisor (city staff) or the vendor's 管理責任者 (vendor staff).
Director = Caller(Role.SUPERVISOR, Role.VENDOR_MANAGER)
ConsoleUser = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.VENDOR_MANAGER)


class OperatorOut(BaseModel):
    id: str = Field(description="The person (a staff member's id) or, for a token of no person, the token")
    token_id: str | None = Field(description="The token, for an operator token that names no person")
    staff_id: str | None = Field(description="The staff number, for a person")
    name: str
    employer: str | None
    qualifications: list[str] | None = Field(description="Procedure codes; null: every procedure")
    created_at: datetime
    expires_at: datetime | None


class AccessEntry(BaseModel):
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


class AccessPage(BaseModel):
    items: list[AccessEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries; null at the end")


class ConsoleSelf(BaseModel):
    token_id: str = Field(description="The token, or the session, this request came with")
    person_id: str = Field(description="The person: the same for all their tokens and sessions")
    name: str
    role: str
    employer: str | None
    qualifications: list[str] | None
    may_reveal_my_number: bool
    lease_s: int
    confidence_threshold: float


def _operator_out(row: ApiToken | Staff) -> OperatorOut:
    if isinstance(row, Staff):
        return OperatorOut(id=row.id, token_id=None, staff_id=row.staff_id, name=row.name,
                           employer=row.employer, qualifications=row.qualifications,
                           created_at=row.created_at, expires_at=None)
    return OperatorOut(id=row.id, token_id=row.id, staff_id=None, name=row.name, employer=row.employer,
                       qualifications=row.qualifications, created_at=row.created_at,
                       expires_at=row.expires_at)


@router.get("/work/me", response_model=ConsoleSelf,
            summary="Who the console is talking to, and the queue's lease and confidence settings")
async def me(principal: ConsoleUser, settings: SettingsDep) -> ConsoleSelf:
    return ConsoleSelf(
        token_id=principal.token_id, person_id=principal.person_id, name=principal.name, role=principal.role,
        employer=principal.employer,
        qualifications=sorted(principal.qualifications) if principal.qualifications is not None else None,
        may_reveal_my_number=may_reveal(Viewer.of(principal)), lease_s=settings.queue.lease_s,
        confidence_threshold=settings.queue.confidence_threshold,
    )


@router.get("/work/operators", response_model=list[OperatorOut],
            summary="The municipality's operators (people, and tokens of no person) and their "
            "qualifications (the vendor's 管理責任者: the vendor's operators only)")
async def operators(uow: UowDep, principal: Director) -> list[OperatorOut]:
    staff_query = select(Staff).where(
        Staff.municipality_code == principal.municipality_code, Staff.role == Role.OPERATOR,
        Staff.is_active.is_(True))  # type: ignore[attr-defined]
    query = select(ApiToken).where(ApiToken.municipality_code == principal.municipality_code,
                                   ApiToken.role == Role.OPERATOR,
                                   ApiToken.staff_id.is_(None),  # type: ignore[union-attr]
                                   ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    if principal.role is Role.VENDOR_MANAGER:
        staff_query = staff_query.where(Staff.employer == Employer.VENDOR)
        query = query.where(ApiToken.employer == Employer.VENDOR)
    staff = await uow.session.execute(staff_query)
    rows = await uow.session.execute(query)
    now = uow.now()
    tokens = [t for t in rows.scalars() if t.expires_at is None or t.expires_at > now]
    listed = [_operator_out(row) for row in [*staff.scalars(), *tokens]]
    return sorted(listed, key=lambda o: (o.name, o.created_at))


@router.put("/work/operators/{token_id}/qualifications", response_model=OperatorOut,
            summary="Set the procedures an operator may work on (null: all); logged. Vendor "
            "operators: their 管理責任者 only (city supervisors get 403 vendor_staff_direction)",
            responses={403: {}, 404: {}, 422: {}})
async def set_qualifications(
    token_id: str, request: Request, uow: UowDep, principal: Director,
    qualifications: Annotated[
        list[str] | None, Body(max_length=50, description="Procedure codes, or null for every procedure")
    ] = None,
) -> OperatorOut:
    token = await _operator(uow, principal, token_id)
    why = direction_refusal(principal, token.employer)
    if why:
        raise VendorStaffDirection(why, token_id=token_id)
    if not (await request.body()).strip():
        # An empty body must not silently mean "every procedure": null has to be sent.
        raise InvalidInput.field("body", "required", "手続の一覧か null を送ってください (send a list or null)")
    catalogue = load_catalogue()
    if qualifications is not None:
        unknown = [code for code in qualifications if catalogue.find(code) is None]
        if unknown:
            raise InvalidInput("未登録の手続です (unknown procedure codes)", [
                {"field": f"[{i}]", "code": "unknown_procedure", "message": f"{code}: 未登録の手続です (unknown)"}
                for i, code in enumerate(qualifications) if code in unknown])
        # Stored in the catalogue's order, each code once.
        wanted = set(qualifications)
        qualifications = [code for code in catalogue.codes if code in wanted]
    before = token.qualifications
    token.qualifications = qualifications
    tokens = request.app.state.resources.tokens
    if isinstance(token, Staff):
        # The person's tokens carry the person's qualifications: drop what this process remembers.
        linked = list((await uow.session.execute(
            select(ApiToken.id).where(ApiToken.staff_id == token.id))).scalars())
        token.updated_at = uow.now()

        def forget_linked() -> None:
            for linked_id in linked:
                tokens.forget(linked_id)

        uow.after_commit(forget_linked)
    else:
        uow.after_commit(lambda: tokens.forget(token_id))
    uow.log(entity="staff" if isinstance(token, Staff) else "api_token", entity_id=token.id, action="qualifications",
            municipality_code=principal.municipality_code,
            data={"from": before, "to": qualifications})
    return _operator_out(token)


async def _operator(uow: UnitOfWork, principal: Principal, token_id: str) -> ApiToken | Staff:
    """An operator by person id, or an operator token of no person by its id."""
    person = await uow.session.get(Staff, token_id, with_for_update=True)
    if person is not None and person.municipality_code == principal.municipality_code \
            and person.role == Role.OPERATOR and person.is_active:
        return person
    token = await uow.session.get(ApiToken, token_id, with_for_update=True)
    if (
        token is None
        or token.municipality_code != principal.municipality_code
        or token.role != Role.OPERATOR
        or token.revoked_at is not None
        or token.staff_id is not None
    ):
        raise NotFound("オペレーターが見つかりません (no such operator)", token_id=token_id)
    return token


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"access:{last_id}".encode()).decode()


def _before(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "access" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput.field("cursor", "invalid_cursor", "カーソルが不正です (invalid cursor)")


@router.get("/access-log", response_model=AccessPage,
            summary="The access log, newest first: who viewed which personal data, and My Numbers shown",
            responses={422: {}})
async def access_log(
    uow: UowDep, principal: Supervisor,
    entity_id: Annotated[str | None, Query(max_length=64, description="Only this application (or entity)")] = None,
    actor_id: Annotated[str | None, Query(max_length=32, description="Only this token's reads")] = None,
    my_number_shown: Annotated[bool | None, Query(description="Only reads that did (or did not) show My Numbers")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AccessPage:
    query = select(AccessLog).where(AccessLog.municipality_code == principal.municipality_code)
    if entity_id:
        query = query.where(AccessLog.entity_id == entity_id)
    if actor_id:
        query = query.where(AccessLog.actor_id == actor_id)
    if my_number_shown is not None:
        query = query.where(AccessLog.my_number_shown == my_number_shown)  # type: ignore[arg-type]
    before = _before(cursor)
    if before is not None:
        query = query.where(AccessLog.id < before)  # type: ignore[operator]
    rows = list((await uow.session.execute(
        query.order_by(AccessLog.id.desc()).limit(limit + 1)  # type: ignore[union-attr]
    )).scalars())
    page = rows[:limit]
    names = await actor_names(uow, principal.municipality_code, {row.actor_id for row in page})
    return AccessPage(
        items=[AccessEntry(id=row.id or 0, at=row.at, actor_id=row.actor_id, actor_name=names.get(row.actor_id),
                           actor_role=row.actor_role, action=row.action, entity=row.entity,
                           entity_id=row.entity_id, my_number_shown=row.my_number_shown, detail=row.detail)
               for row in page],
        next_cursor=_cursor(page[-1].id or 0) if len(rows) > limit else None,
    )

