"""Who is calling, and the unit of work a request or a websocket runs its reads and commands in."""

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from app.domain.clock import Clock
from app.domain.roles import Employer, Principal, Role
from app.services import people
from app.services.uow import LobbyNotifier, UnitOfWork
from app.settings import Settings
from app.storage import callers as callers_store
from app.storage import tenancy
from app.storage.db import read_only
from app.storage.engines import Sessionmaker


@contextlib.asynccontextmanager
async def unit_of_work(
    sessionmaker: Sessionmaker,
    *,
    clock: Clock,
    settings: Settings,
    notify_lobby: LobbyNotifier | None = None,
    reads_only: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work on a session of its own; an exception closes the session (rollback).

    ``reads_only``: a transaction that never writes (on SQLite it takes no write lock)."""
    async with sessionmaker() as session:
        if reads_only:
            await read_only(session)
        yield UnitOfWork(session, clock=clock, settings=settings, notify_lobby=notify_lobby)


def token_hash(secret: str) -> str:
    """What a token is remembered and looked up by (its secret is never kept)."""
    return tenancy.hash_token(secret)


async def find_token_principal(
    uow: UnitOfWork, secret: str
) -> tuple[Principal, datetime | None] | None:
    """The principal of an active token and when the token expires; None for an unknown,
    expired or revoked token. A person's token speaks for the person (refused once they are
    deactivated)."""
    token = await tenancy.find_active_token(uow.session, secret, uow.now())
    if token is None:
        return None
    if token.staff_id is not None:
        # A person's token: the person's name, employer, contract and qualifications, one person_id.
        staff = await callers_store.find_staff(uow.session, token.staff_id)
        return people.staff_token_principal(staff, token), token.expires_at
    principal = Principal(
        token_id=token.id,
        municipality_code=token.municipality_code,
        role=Role(token.role),
        name=token.name,
        office_id=token.office_id,
        employer=Employer(token.employer) if token.employer else None,
        qualifications=frozenset(token.qualifications)
        if token.qualifications is not None
        else None,
        contract_id=token.contract_id,
    )
    return principal, token.expires_at


async def office_exists(uow: UnitOfWork, office_id: str, municipality_code: str) -> bool:
    return await tenancy.find_office(uow.session, office_id, municipality_code) is not None
