"""Dependencies: the unit of work of a request, and who is calling."""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.domain.errors import NotAllowed, NotAuthenticated
from app.domain.roles import Employer, Principal, Role
from app.resources import Resources
from app.services import people
from app.services.token_cache import TokenCache
from app.services.uow import UnitOfWork
from app.settings import Settings
from app.storage.tables import Staff
from app.storage.tenancy import find_active_token, hash_token


async def get_resources(request: Request) -> Resources:  # async: a sync dependency costs a thread hop
    return request.app.state.resources  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_uow(resources: ResourcesDep, settings: SettingsDep) -> AsyncIterator[UnitOfWork]:
    async with resources.sessionmaker() as session:  # an exception closes it → rollback
        uow = UnitOfWork(
            session, clock=resources.clock, settings=settings, notify_lobby=resources.hub.notify
        )
        yield uow
        await uow.commit()


# scope="function": commit before the response is sent, so a failed commit is never a 200.
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]

bearer = HTTPBearer(auto_error=False, description="Token created with `madoguchi token create`")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-Madoguchi-CSRF"


async def principal_for_token(uow: UnitOfWork, secret: str | None, cache: TokenCache | None = None) -> Principal:
    if not secret:
        raise NotAuthenticated("トークンが必要です (a bearer token is required)")
    token_hash = hash_token(secret)
    if cache is not None:
        known = cache.get(token_hash, uow.now())
        if known is not None:
            uow.principal = known
            return known
        generation = cache.generation
    token = await find_active_token(uow.session, secret, uow.now())
    if token is None:
        raise NotAuthenticated("トークンが無効です (unknown, expired or revoked token)")
    if token.staff_id is not None:
        # A person's token: the person's name, employer, contract and qualifications, one person_id.
        principal = people.staff_token_principal(await uow.session.get(Staff, token.staff_id), token)
    else:
        principal = Principal(
            token_id=token.id,
            municipality_code=token.municipality_code,
            role=Role(token.role),
            name=token.name,
            office_id=token.office_id,
            employer=Employer(token.employer) if token.employer else None,
            qualifications=frozenset(token.qualifications) if token.qualifications is not None else None,
            contract_id=token.contract_id,
        )
    uow.principal = principal
    if cache is not None:
        cache.put(token_hash, principal, token.expires_at, generation)
    return principal


async def principal_for_request(
    request: Request,
    uow: UnitOfWork,
    resources: Resources,
    settings: Settings,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    """A bearer token (API clients, devices, systems) or a console's session cookie (people).

    With the cookie, a state-changing request must echo the session's CSRF token in
    X-Madoguchi-CSRF: a page of another site can make the browser send the cookie, not the header.
    """
    if credentials is not None:
        return await principal_for_token(uow, credentials.credentials, resources.tokens)
    cookie = request.cookies.get(settings.auth.cookie_name)
    if cookie:
        return await people.session_principal(
            uow, settings.auth, cookie, unsafe_method=request.method not in SAFE_METHODS,
            csrf=request.headers.get(CSRF_HEADER),
        )
    raise NotAuthenticated(
        "サインインするか、トークンを送ってください (sign in, or send a bearer token)"
    )


class RoleGuard:
    """A dependency admitting only the listed roles; the route table is read from these."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(
        self,
        request: Request,
        uow: UowDep,
        resources: ResourcesDep,
        settings: SettingsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = await principal_for_request(request, uow, resources, settings, credentials)
        if principal.role not in self.roles:
            raise NotAllowed(
                f"{principal.role} はこの操作をできません (role {principal.role} may not do this)"
            )
        return principal


def allow(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    return RoleGuard(frozenset(roles))  # type: ignore[return-value]


def Caller(*roles: Role) -> Any:  # noqa: N802 - reads as a type in signatures
    """``principal: Caller(Role.KIOSK, Role.COUNTER)`` — authenticate and check the role."""
    return Annotated[Principal, Depends(allow(*roles))]
