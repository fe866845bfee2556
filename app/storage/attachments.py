"""Which applications list an attachment."""

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import Application


async def applications_listing(
    session: AsyncSession, municipality_code: str, sha256: str, *, limit: int | None = None
) -> list[str]:
    """Ids of the municipality's applications whose attachments include this file, in id order.

    The JSON text narrows the rows in SQL on both databases; the listed hashes decide.
    """
    query = (
        select(col(Application.id), col(Application.attachments))
        .where(
            col(Application.municipality_code) == municipality_code,
            cast(Application.attachments, String).contains(sha256),
        )
        .order_by(Application.id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = await session.execute(query)
    return [id_ for id_, listed in rows if any(a.get("sha256") == sha256 for a in listed or [])]
