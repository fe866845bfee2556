"""Dependencies: the unit of work of a request, and who is calling."""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.domain.errors import NotAllowed, NotAuthenticated
from app.domain.roles import Principal, Role
from app.resources import Resources
from app.services import people
from app.services.callers import find_token_principal, token_hash, unit_of_work
from app.services.token_cache import TokenCache
from app.services.uow import UnitOfWork
from app.settings import Settings


async def get_resources(
    request: Request,
) -> Resources:  # async: a sync dependency costs a thread hop
    return request.app.state.resources  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    # Resources and settings read here, not as dependencies of their own: each dependency is
    # resolved per request, and every API request needs a unit of work.
    state = request.app.state
    resources: Resources = state.resources
    async with unit_of_work(  # an exception closes its session → rollback
        resources.sessionmaker,
        clock=resources.clock,
        settings=state.settings,
        notify_lobby=resources.hub.notify,
    ) as uow:
        yield uow
        await uow.commit()


# scope="function": commit before the response is sent, so a failed commit is never a 200.
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]

bearer = HTTPBearer(auto_error=False, description="Token created with `madoguchi token create`")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-Madoguchi-CSRF"


async def principal_for_token(
    uow: UnitOfWork, secret: str | None, cache: TokenCache | None = None
) -> Principal:
    if not secret:
        raise NotAuthenticated("トークンが必要です (a bearer token is required)")
    hashed = token_hash(secret)
    if cache is not None:
        known = cache.get(hashed, uow.now())
        if known is not None:
            uow.principal = known
            return known
        generation = cache.generation
    found = await find_token_principal(uow, secret)
    if found is None:
        raise NotAuthenticated("トークンが無効です (unknown, expired or revoked token)")
    principal, expires_at = found
    uow.principal = principal
    if cache is not None:
        cache.put(hashed, principal, expires_at, generation)
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
            uow,
            settings.auth,
            cookie,
            unsafe_method=request.method not in SAFE_METHODS,
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
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        state = request.app.state
        principal = await principal_for_request(
            request, uow, state.resources, state.settings, credentials
        )
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
