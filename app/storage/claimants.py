"""Approved 児童手当 / 児童扶養手当 claims, looked up by who claims (DOMAIN.md §7.23)."""

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import ApplicationStatus
from app.domain.prompts import KnownClaim, Mover
from app.storage.db import table_of
from app.storage.tables import Application

_VALUES = table_of(Application).c["values"]
_NAME = _VALUES["claimant_name"].as_string()
_BORN = _VALUES[("claimant_birth_date", "iso")].as_string()
_NUMBER = _VALUES["claimant_my_number"].as_string()


async def approved_claims_of(
    session: AsyncSession,
    municipality_code: str,
    procedures: Sequence[str],
    movers: Sequence[Mover],
) -> list[KnownClaim]:
    """The municipality's approved claims whose claimant has a mover's My Number, or name and
    birth date exactly as stored; the domain (``is_claimant``) decides which really match."""
    matches = [
        *(m.my_number == _NUMBER for m in movers if m.my_number),
        *(and_(m.name == _NAME, m.birth_date == _BORN) for m in movers if m.name and m.birth_date),
    ]
    if not matches or not procedures:
        return []
    rows = await session.execute(
        select(col(Application.id), col(Application.procedure), _NAME, _BORN, _NUMBER)
        .where(
            col(Application.municipality_code) == municipality_code,
            col(Application.procedure).in_(procedures),
            col(Application.status) == ApplicationStatus.APPROVED,
            or_(*matches),
        )
        .order_by(col(Application.decided_at), col(Application.id))
    )
    return [KnownClaim(row[0], row[1], row[2], row[3], row[4]) for row in rows]
