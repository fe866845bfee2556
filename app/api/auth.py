"""Staff sign-in to the consoles: password or the city's SSO proxy → a session cookie.

The cookie holds only a random session id (stored hashed), is HttpOnly (no script reads it),
SameSite=Strict (no other site's page or link sends it: the consoles are opened from a bookmark,
never from another site) and Secure over https. Requests made with it that change anything must
echo the session's CSRF token (from the sign-in answer or GET /auth/me) in X-Madoguchi-CSRF.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import CSRF_HEADER, Caller, SettingsDep, UowDep
from app.domain.errors import NotAuthenticated
from app.domain.roles import Role
from app.services import people
from app.services.records import StaffRecord, StaffSessionRecord
from app.services.supervision import sign_in_failures
from app.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])

Overseer = Caller(Role.SUPERVISOR, Role.ADMIN)


class LoginIn(BaseModel):
    municipality: Annotated[str, Field(pattern=r"^\d{6}$", description="全国地方公共団体コード")]
    staff_id: Annotated[
        str, Field(min_length=1, max_length=32, description="職員番号 (staff number)")
    ]
    password: Annotated[str, Field(min_length=1, max_length=people.PASSWORD_MAX)]


class SessionOut(BaseModel):
    person_id: str = Field(description="The person: the same whichever token or session they use")
    staff_id: str
    name: str
    role: str
    employer: str
    municipality: str
    office_id: str | None
    method: str = Field(description="password or sso")
    expires_at: datetime
    idle_timeout_s: int
    csrf_token: str = Field(description=f"Send in {CSRF_HEADER} with every state-changing request")


def _out(staff: StaffRecord, session: StaffSessionRecord, settings: Settings) -> SessionOut:
    return SessionOut(
        person_id=staff.id,
        staff_id=staff.staff_id,
        name=staff.name,
        role=staff.role,
        employer=staff.employer,
        municipality=staff.municipality_code,
        office_id=staff.office_id,
        method=session.method,
        expires_at=session.expires_at,
        idle_timeout_s=settings.auth.idle_timeout_s,
        csrf_token=session.csrf_token,
    )


def _secure(request: Request, settings: Settings) -> bool:
    if settings.auth.cookie_secure in ("true", "false"):
        return settings.auth.cookie_secure == "true"
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def _set_cookie(response: Response, request: Request, settings: Settings, secret: str) -> None:
    response.set_cookie(
        settings.auth.cookie_name,
        secret,
        max_age=settings.auth.session_ttl_s,
        path="/api/v1",
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )


def _clear_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        settings.auth.cookie_name,
        path="/api/v1",
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )


@router.post(
    "/login",
    response_model=SessionOut,
    summary="Sign in with staff number and password",
    responses={401: {}, 422: {}, 429: {}},
)
async def login(
    body: LoginIn, request: Request, response: Response, uow: UowDep, settings: SettingsDep
) -> SessionOut:
    signed = await people.login(
        uow,
        settings.auth,
        municipality_code=body.municipality,
        staff_id=body.staff_id,
        password=body.password,
    )
    _set_cookie(response, request, settings, signed.secret)
    response.headers["Cache-Control"] = "no-store"
    return _out(signed.staff, signed.session, settings)


@router.post(
    "/sso",
    response_model=SessionOut,
    summary="Sign in as the person the city's SSO proxy names (trusted proxy only)",
    responses={401: {}},
)
async def sso(
    request: Request, response: Response, uow: UowDep, settings: SettingsDep
) -> SessionOut:
    auth = settings.auth
    subject = request.headers.get(auth.sso_header) if auth.sso_header else None
    if not subject:
        raise NotAuthenticated("SSO によるサインインは使えません (no SSO sign-in on this request)")
    client = request.client.host if request.client else None
    if not people.proxy_is_trusted(auth, client, request.headers.get(auth.sso_secret_header)):
        raise NotAuthenticated(
            "SSO の中継元を確認できません (the SSO header did not come from the city's proxy)"
        )
    signed = await people.sso_login(uow, auth, subject)
    _set_cookie(response, request, settings, signed.secret)
    response.headers["Cache-Control"] = "no-store"
    return _out(signed.staff, signed.session, settings)


@router.get(
    "/me",
    response_model=SessionOut,
    summary="The signed-in person and the session's CSRF token",
    responses={401: {}},
)
async def me(
    request: Request, response: Response, uow: UowDep, settings: SettingsDep
) -> SessionOut:
    cookie = request.cookies.get(settings.auth.cookie_name)
    found = await people.find_session(uow, settings.auth, cookie) if cookie else None
    if found is None:
        raise NotAuthenticated("サインインしていません (not signed in)")
    response.headers["Cache-Control"] = "no-store"
    session, staff = found
    return _out(staff, session, settings)


@router.post(
    "/logout",
    status_code=204,
    summary="Sign out: the session ends and the cookie is cleared",
    responses={403: {}},
)
async def logout(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    response = Response(status_code=204)
    cookie = request.cookies.get(settings.auth.cookie_name)
    if cookie:
        found = await people.find_session(uow, settings.auth, cookie)
        if found is not None:
            # Also a state change: another site must not be able to sign the person out.
            principal = await people.session_principal(
                uow,
                settings.auth,
                cookie,
                unsafe_method=True,
                csrf=request.headers.get(CSRF_HEADER),
            )
            await people.logout(uow, principal.token_id)
    _clear_cookie(response, request, settings)
    return response


class SignInFailure(BaseModel):
    at: datetime
    staff_id: str = Field(description="The staff number typed")
    person_id: str | None = Field(description="The person, when the staff number exists")
    reason: str


@router.get(
    "/failures",
    response_model=list[SignInFailure],
    summary="Failed sign-ins of the municipality, newest first (DOMAIN.md §7.12 report)",
    responses={422: {}},
)
async def failures(
    uow: UowDep,
    principal: Overseer,
    since: Annotated[
        datetime | None, Query(description="Only failures at or after this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[SignInFailure]:
    return [
        SignInFailure(at=f.at, staff_id=f.staff_id, person_id=f.person_id, reason=f.reason)
        for f in await sign_in_failures(uow, principal.municipality_code, since, limit)
    ]
