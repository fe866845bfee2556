"""The lobby displays' administration: an office's display tokens, the test announcement's
one-at-a-time slot, and the non-sequenced messages every process's displays receive."""

from datetime import datetime, timedelta

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.roles import Role
from app.storage.db import rows_matched
from app.storage.tables import ApiToken, Office

# PostgreSQL: {"office", "token", "message"} for every process's hub (see app/realtime/hub.py).
CONTROL_CHANNEL = "madoguchi_lobby_control"


async def display_tokens(session: AsyncSession, office_id: str, now: datetime) -> list[ApiToken]:
    """The office's display tokens neither revoked nor expired, oldest first."""
    rows = await session.execute(
        select(ApiToken)
        .where(
            col(ApiToken.office_id) == office_id,
            col(ApiToken.role) == Role.DISPLAY,
            col(ApiToken.revoked_at).is_(None),
            or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
        )
        .order_by(col(ApiToken.created_at))
    )
    return list(rows.scalars())


async def take_test_slot(
    session: AsyncSession, office_id: str, now: datetime, every: timedelta
) -> bool:
    """True when no test announcement was sent to the office within ``every`` (and records this
    one); a single UPDATE, so two processes pressed at once send one."""
    result = await session.execute(
        update(Office)
        .where(
            col(Office.id) == office_id,
            or_(
                col(Office.announce_test_at).is_(None),
                col(Office.announce_test_at) <= now - every,
            ),
        )
        .values(announce_test_at=now)
    )
    return bool(rows_matched(result))


async def notify_control(session: AsyncSession, payload: str) -> None:
    """PostgreSQL: ``payload`` reaches every process's listener when the transaction commits."""
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CONTROL_CHANNEL, "payload": payload},
    )
