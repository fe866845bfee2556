"""Supervision of the central queue: operators' qualifications, the access log, who is calling.

Supervisors move operators between procedures (the change is logged and takes effect on the
operator's next claim) and read the access log; the console asks who it is talking to.
"""

import base64
import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from app.api.deps import Caller, SettingsDep, UowDep
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.domain.visibility import Viewer, may_reveal
from app.services import supervision

router = APIRouter(tags=["supervision"])

Supervisor = Caller(Role.SUPERVISOR)
# Who directs operators: the city's supervisor (city staff) or the vendor's 管理責任者
# (vendor staff).
Director = Caller(Role.SUPERVISOR, Role.VENDOR_MANAGER)
ConsoleUser = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.VENDOR_MANAGER)


class OperatorOut(BaseModel):
    id: str = Field(
        description="The person (a staff member's id) or, for a token of no person, the token"
    )
    token_id: str | None = Field(
        description="The token, for an operator token that names no person"
    )
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
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older entries; null at the end"
    )


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


def _operator_out(operator: supervision.OperatorView) -> OperatorOut:
    return OperatorOut(**dataclasses.asdict(operator))


@router.get(
    "/work/me",
    response_model=ConsoleSelf,
    summary="Who the console is talking to, and the queue's lease and confidence settings",
)
async def me(principal: ConsoleUser, settings: SettingsDep) -> ConsoleSelf:
    return ConsoleSelf(
        token_id=principal.token_id,
        person_id=principal.person_id,
        name=principal.name,
        role=principal.role,
        employer=principal.employer,
        qualifications=sorted(principal.qualifications)
        if principal.qualifications is not None
        else None,
        may_reveal_my_number=may_reveal(Viewer.of(principal)),
        lease_s=settings.queue.lease_s,
        confidence_threshold=settings.queue.confidence_threshold,
    )


@router.get(
    "/work/operators",
    response_model=list[OperatorOut],
    summary="The municipality's operators (people, and tokens of no person) and their "
    "qualifications (the vendor's 管理責任者: the vendor's operators only)",
)
async def operators(uow: UowDep, principal: Director) -> list[OperatorOut]:
    return [_operator_out(o) for o in await supervision.list_operators(uow, principal)]


@router.put(
    "/work/operators/{token_id}/qualifications",
    response_model=OperatorOut,
    summary="Set the procedures an operator may work on (null: all); logged. Vendor "
    "operators: their 管理責任者 only (city supervisors get 403 vendor_staff_direction)",
    responses={403: {}, 404: {}, 422: {}},
)
async def set_qualifications(
    token_id: str,
    request: Request,
    uow: UowDep,
    principal: Director,
    qualifications: Annotated[
        list[str] | None,
        Body(max_length=50, description="Procedure codes, or null for every procedure"),
    ] = None,
) -> OperatorOut:
    operator = await supervision.direct_operator(uow, principal, token_id)
    if not (await request.body()).strip():
        # An empty body must not silently mean "every procedure": null has to be sent.
        raise InvalidInput.field(
            "body", "required", "手続の一覧か null を送ってください (send a list or null)"
        )
    tokens = request.app.state.resources.tokens
    changed = await supervision.set_qualifications(
        uow, principal, operator, qualifications, forget_token=tokens.forget
    )
    return _operator_out(changed)


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


@router.get(
    "/access-log",
    response_model=AccessPage,
    summary="The access log, newest first: who viewed which personal data, and My Numbers shown",
    responses={422: {}},
)
async def access_log(
    uow: UowDep,
    principal: Supervisor,
    entity_id: Annotated[
        str | None, Query(max_length=64, description="Only this application (or entity)")
    ] = None,
    actor_id: Annotated[
        str | None, Query(max_length=32, description="Only this token's reads")
    ] = None,
    my_number_shown: Annotated[
        bool | None, Query(description="Only reads that did (or did not) show My Numbers")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AccessPage:
    entries, more = await supervision.access_log_page(
        uow,
        principal.municipality_code,
        entity_id=entity_id,
        actor_id=actor_id,
        my_number_shown=my_number_shown,
        before=_before(cursor),
        limit=limit,
    )
    return AccessPage(
        items=[AccessEntry(**dataclasses.asdict(entry)) for entry in entries],
        next_cursor=_cursor(entries[-1].id) if more else None,
    )
