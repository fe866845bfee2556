"""Near-turn notices: a resident's address for their ticket, and the messages due now.

The job (app/jobs/notify.py) asks what is due, sends outside any transaction, and records each
attempt; the rules are in app/domain/notices.py, the rows in app/storage/notices.py.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from app.domain import notices as rules
from app.domain.clock import business_day
from app.domain.errors import Conflict
from app.domain.tickets import TicketStatus
from app.services import tickets as ticket_service
from app.services.receipts import CATALOGUES, catalogue
from app.storage import notices as notice_store
from app.storage.tables import Ticket
from app.storage.uow import UnitOfWork

OPEN = frozenset({TicketStatus.WAITING, TicketStatus.HELD})


@dataclass(frozen=True)
class Due:
    ticket_id: str
    email: str
    kind: str
    message: rules.Message


def _catalogue(language: str) -> dict[str, str]:
    return catalogue(language if (CATALOGUES / f"{language}.json").is_file() else "ja")


def counter_text(words: dict[str, str], label: str) -> str:
    """The counter as the status page names it ("3番窓口", "counter 3", "年金窓口")."""
    if re.fullmatch(r"\d+", label):
        return words["status.counter_number"].format(label=label)
    suffix = words["status.counter_named"].split("{label}")[-1].strip()
    if suffix and label.endswith(suffix):
        return label
    return words["status.counter_named"].format(label=label)


async def _keep(uow: UnitOfWork, ticket: Ticket, email: str) -> None:
    if ticket.status not in OPEN or ticket.business_day != business_day(uow.now()):
        raise Conflict(
            "この番号札には通知を登録できません (this ticket is no longer waiting)",
            ticket_id=ticket.id,
        )
    await notice_store.ask(uow.session, ticket, rules.check_email(email), uow.now())


async def ask(
    uow: UnitOfWork, *, ticket_id: str, key: str, email: str, office_id: str | None = None
) -> None:
    """The resident's address for their ticket, by the key of its status page."""
    view = await ticket_service.public_status(
        uow, ticket_id=ticket_id, key=key, office_id=office_id
    )
    await _keep(uow, view.ticket, email)


async def ask_at_issue(uow: UnitOfWork, ticket: Ticket, email: str) -> None:
    await _keep(uow, ticket, email)


def near_rule(uow: UnitOfWork, office_id: str) -> rules.Rule:
    rule = uow.settings.notify.rule_for(office_id)
    return rules.Rule(near_ahead=rule.near_ahead, near_minutes=rule.near_minutes)


async def due(uow: UnitOfWork) -> list[Due]:
    """Messages owed now, one per ticket at most, in the ticket's language."""
    now = uow.now()
    settings = uow.settings.notify
    found = await notice_store.due(
        uow.session, business_day(now), now, max_attempts=settings.max_attempts
    )
    out = []
    for notice, ticket in found:
        view = await ticket_service.view(uow, ticket)
        kind = rules.due_kind(
            ticket.status,
            view.ahead,
            view.estimate_min,
            frozenset(notice.sent),
            near_rule(uow, ticket.office_id),
        )
        if kind is None or notice.email is None:
            continue
        words = _catalogue(ticket.language)
        counter = counter_text(words, view.counter.label) if view.counter else None
        message = rules.message(
            words,
            kind,
            number=ticket.number,
            ahead=view.ahead,
            minutes=view.estimate_min,
            counter=counter,
        )
        out.append(Due(ticket.id, notice.email, kind, message))
    return out


async def record(uow: UnitOfWork, item: Due, *, sent: bool) -> None:
    """One attempt at ``item``: sent, or failed (retried after the backoff)."""
    if sent:
        await notice_store.record(uow.session, item.ticket_id, sent_kind=item.kind, retry_at=None)
        return
    notice = await notice_store.get(uow.session, item.ticket_id)
    failures = (notice.failures if notice else 0) + 1
    wait = rules.backoff_s(failures, uow.settings.notify.backoff_s)
    await notice_store.record(
        uow.session, item.ticket_id, sent_kind=None, retry_at=uow.now() + timedelta(seconds=wait)
    )


async def forget_ended(uow: UnitOfWork) -> int:
    """Clear the addresses of tickets whose day has ended."""
    return await notice_store.forget_before(uow.session, business_day(uow.now()))


async def is_near(uow: UnitOfWork, view: ticket_service.TicketView) -> bool:
    """Whether the status page should alert now (the same rule as the e-mail)."""
    rule = near_rule(uow, view.ticket.office_id)
    return view.ticket.status == TicketStatus.WAITING and (
        view.ahead <= rule.near_ahead or view.estimate_min < rule.near_minutes
    )
