"""Rows of near-turn notices (app/domain/notices.py): who asked, what was sent, what is due."""

from datetime import date, datetime

from sqlalchemy import or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.storage.tables import Ticket, TicketNotice


async def get(session: AsyncSession, ticket_id: str) -> TicketNotice | None:
    return await session.get(TicketNotice, ticket_id)


async def ask(
    session: AsyncSession, ticket: Ticket, channel: str, to: str, now: datetime
) -> TicketNotice:
    """Keep the address (``channel`` "email") or the gateway's recipient ("sms", "line") for the
    ticket: one way at a time, a second request replaces the first; what was already sent stays
    sent."""
    notice = await session.get(TicketNotice, ticket.id, with_for_update=True)
    if notice is None:
        notice = TicketNotice(
            ticket_id=ticket.id,
            municipality_code=ticket.municipality_code,
            office_id=ticket.office_id,
            business_day=ticket.business_day,
            sent=[],
            created_at=now,
        )
        session.add(notice)
    notice.channel = channel
    notice.email = to if channel == "email" else None
    notice.recipient = None if channel == "email" else to
    notice.refused = None
    await session.flush()
    return notice


async def due(
    session: AsyncSession,
    day: date,
    now: datetime,
    max_attempts: int,
    *,
    with_email: bool = True,
    limit: int = 200,
) -> list[tuple[TicketNotice, Ticket]]:
    """Today's notices with an address or a recipient, under the cap, not refused by the
    gateway and not waiting for a retry (``with_email`` false: without a relay, only the
    gateways' rows, so that unsendable addresses do not fill the batch)."""
    rows = await session.execute(
        select(TicketNotice, Ticket)
        .join(Ticket, col(Ticket.id) == col(TicketNotice.ticket_id))
        .where(
            col(TicketNotice.business_day) == day,
            or_(col(TicketNotice.email).is_not(None), col(TicketNotice.recipient).is_not(None)),
            col(TicketNotice.refused).is_(None),
            col(TicketNotice.attempts) < max_attempts,
            or_(col(TicketNotice.retry_at).is_(None), col(TicketNotice.retry_at) <= now),
        )
        .where(true() if with_email else col(TicketNotice.channel) != "email")
        .order_by(col(TicketNotice.created_at))
        .limit(limit)
    )
    return [(notice, ticket) for notice, ticket in rows.all()]


async def record(
    session: AsyncSession,
    ticket_id: str,
    *,
    sent_kind: str | None,
    retry_at: datetime | None,
    refused: str | None = None,
) -> None:
    """One attempt: a kind sent (``sent_kind``), a failure to retry from ``retry_at``, or a
    refusal for good (``refused``, the gateway's answer: nothing more is sent)."""
    notice = await session.get(TicketNotice, ticket_id, with_for_update=True)
    if notice is None:
        return
    notice.attempts += 1
    if sent_kind is not None:
        notice.sent = sorted({*notice.sent, sent_kind})
        notice.failures = 0
        notice.retry_at = None
    else:
        notice.failures += 1
        notice.retry_at = retry_at
        notice.refused = refused
    await session.flush()


async def forget_before(session: AsyncSession, day: date) -> int:
    """Clear the addresses and numbers of notices whose ticket's day is before ``day``."""
    result = await session.execute(
        update(TicketNotice)
        .where(
            col(TicketNotice.business_day) < day,
            or_(col(TicketNotice.email).is_not(None), col(TicketNotice.recipient).is_not(None)),
        )
        .values(email=None, recipient=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
