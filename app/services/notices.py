"""Near-turn notices: a resident's address or number for their ticket, and the messages due now.

The job (app/jobs/notify.py) asks what is due, sends outside any transaction, and records each
attempt; the rules are in app/domain/notices.py, the rows in app/storage/notices.py.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from app.domain import gateway
from app.domain import notices as rules
from app.domain.clock import business_day
from app.domain.errors import Conflict, InvalidInput
from app.domain.tickets import TicketStatus
from app.services import tickets as ticket_service
from app.services.receipts import CATALOGUES, catalogue
from app.storage import notices as notice_store
from app.storage.tables import Ticket
from app.storage.uow import UnitOfWork

OPEN = frozenset({TicketStatus.WAITING, TicketStatus.HELD})


@dataclass(frozen=True)
class Contact:
    """How a resident asked to be told: "email" and an address, or "sms"/"line" and the
    gateway's recipient (an E.164 number, a LINE id)."""

    channel: str
    to: str


@dataclass(frozen=True)
class Due:
    ticket_id: str
    office_id: str
    channel: str
    to: str
    kind: str
    number: str
    language: str
    message: rules.Message

    def payload(self) -> gateway.Payload:
        """What the office's gateway receives for this notice (the same words as the e-mail)."""
        return gateway.Payload(
            id=gateway.notice_id(self.ticket_id, self.kind),
            channel=self.channel,
            to=self.to,
            language=self.language,
            text=gateway.short_text(self.message.body),
            ticket_number=self.number,
            kind=self.kind,
        )


def contact(email: str | None, phone: str | None, line: str | None) -> Contact:
    """The one way given, checked; 422 with the field for a bad value, or none or several."""
    given = [name for name, value in (("email", email), ("phone", phone), ("line", line)) if value]
    if len(given) != 1:
        raise InvalidInput.field(
            "email",
            "one_contact",
            "メール、携帯電話番号、LINE のいずれか一つを入力してください "
            "(give one of email, phone or line)",
        )
    if email:
        return Contact("email", rules.check_email(email))
    if phone:
        return Contact(gateway.SMS, gateway.check_phone(phone))
    assert line is not None
    return Contact(gateway.LINE, gateway.check_line_id(line))


def gateway_channel(uow: UnitOfWork, office_id: str) -> Literal["sms", "line"] | None:
    """The channel of the office's gateway ("sms", "line"), or None when it has none."""
    found = uow.settings.notify.gateway_for(office_id)
    return found.channel if found else None


def _offered(uow: UnitOfWork, office_id: str, how: Contact) -> None:
    if how.channel != "email" and gateway_channel(uow, office_id) != how.channel:
        field = "phone" if how.channel == gateway.SMS else "line"
        raise InvalidInput.field(
            field,
            "not_offered",
            "この窓口では SMS・LINE のお知らせを利用できません "
            f"(this office does not send notices by {how.channel})",
        )


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


async def _keep(uow: UnitOfWork, ticket: Ticket, how: Contact) -> None:
    _offered(uow, ticket.office_id, how)
    if ticket.status not in OPEN or ticket.business_day != business_day(uow.now()):
        raise Conflict(
            "この番号札には通知を登録できません (this ticket is no longer waiting)",
            ticket_id=ticket.id,
        )
    await notice_store.ask(uow.session, ticket, how.channel, how.to, uow.now())


async def ask(
    uow: UnitOfWork, *, ticket_id: str, key: str, how: Contact, office_id: str | None = None
) -> None:
    """The resident's address or number for their ticket, by the key of its status page."""
    view = await ticket_service.public_status(
        uow, ticket_id=ticket_id, key=key, office_id=office_id
    )
    await _keep(uow, view.ticket, how)


async def ask_at_issue(uow: UnitOfWork, ticket: Ticket, how: Contact) -> None:
    await _keep(uow, ticket, how)


def near_rule(uow: UnitOfWork, office_id: str) -> rules.Rule:
    rule = uow.settings.notify.rule_for(office_id)
    return rules.Rule(near_ahead=rule.near_ahead, near_minutes=rule.near_minutes)


def _can_send(uow: UnitOfWork, channel: str, office_id: str) -> bool:
    if channel == "email":
        return uow.settings.notify.smtp.host is not None
    return gateway_channel(uow, office_id) == channel


async def due(uow: UnitOfWork) -> list[Due]:
    """Messages owed now, one per ticket at most, in the ticket's language (only those a relay
    or a gateway is configured for)."""
    now = uow.now()
    settings = uow.settings.notify
    found = await notice_store.due(
        uow.session,
        business_day(now),
        now,
        max_attempts=settings.max_attempts,
        with_email=settings.smtp.host is not None,
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
        to = notice.email if notice.channel == "email" else notice.recipient
        if kind is None or to is None or not _can_send(uow, notice.channel, ticket.office_id):
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
        out.append(
            Due(
                ticket.id,
                ticket.office_id,
                notice.channel,
                to,
                kind,
                ticket.number,
                ticket.language,
                message,
            )
        )
    return out


async def record(uow: UnitOfWork, item: Due, *, sent: bool, refused: str | None = None) -> None:
    """One attempt at ``item``: sent, failed (retried after the backoff), or refused for good
    by the gateway (``refused``: its answer; nothing more is sent to this ticket)."""
    if refused is not None:
        await notice_store.record(
            uow.session, item.ticket_id, sent_kind=None, retry_at=None, refused=refused
        )
        return
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
    """Clear the addresses and numbers of tickets whose day has ended."""
    return await notice_store.forget_before(uow.session, business_day(uow.now()))


async def is_near(uow: UnitOfWork, view: ticket_service.TicketView) -> bool:
    """Whether the status page should alert now (the same rule as the e-mail)."""
    rule = near_rule(uow, view.ticket.office_id)
    return view.ticket.status == TicketStatus.WAITING and (
        view.ahead <= rule.near_ahead or view.estimate_min < rule.near_minutes
    )
