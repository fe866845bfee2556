"""The core system's feed: approved (and later withdrawn) applications in decision order."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.applications import IN_CORE_FEED
from app.storage.tables import Application


async def list_after(
    session: AsyncSession, municipality_code: str, after: int, limit: int
) -> list[Application]:
    return list(
        (
            await session.execute(
                select(Application)
                .where(
                    col(Application.municipality_code) == municipality_code,
                    col(Application.core_seq) > after,
                    # Reopened for correction: out of the feed until approved again.
                    col(Application.status).in_(IN_CORE_FEED),
                )
                .order_by(col(Application.core_seq))
                .limit(limit)
            )
        ).scalars()
    )
