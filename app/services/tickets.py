"""Lobby commands: issue, call (next or a given number), recall, start, finish, no-show, cancel,
transfer, hold and resume, undo a call, pause and resume a counter."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.clock import business_day
from app.domain.errors import (
    CounterPaused,
    InvalidInput,
    NotAllowed,
    NotFound,
    TooSoon,
    WindowClosed,
)
from app.domain.estimates import IN_USE, shadow_estimates
from app.domain.roles import Principal
from app.domain.tickets import (
    AppointmentWindow,
    TicketAction,
    TicketStatus,
    estimate_error_s,
    format_number,
    next_status,
    seconds_left,
    undo_open,
)
from app.services import lobby, lobby_events
from app.services.ticket_plans import check_plan, locked_ticket
from app.storage import lobby as lobby_store
from app.storage import numbering, tenancy, ticket_stops
from app.storage import tickets as ticket_store
from app.storage.db import new_id
from app.storage.tables import Counter, Office, Ticket, TicketCategory
from app.storage.uow import UnitOfWork

EVENT_OF_ACTION = {
    TicketAction.CALL: "ticket.called",
    TicketAction.RECALL: "ticket.recalled",
    TicketAction.START: "ticket.started",
    TicketAction.FINISH: "ticket.finished",
    TicketAction.NO_SHOW: "ticket.no_show",
    TicketAction.CANCEL: "ticket.cancelled",
    TicketAction.TRANSFER: "ticket.transferred",
    # The displays' protocol has one event for a ticket changing queue; ``next_stop`` in its
    # data tells a plan's next stop from a staff transfer.
    TicketAction.NEXT_STOP: "ticket.transferred",
    TicketAction.HOLD: "ticket.held",
    TicketAction.RESUME: "ticket.resumed",
    TicketAction.UNDO_CALL: "ticket.call_withdrawn",
}
# Actions that put a ticket on a counter and on the display's list of calls.
CALLING = frozenset({TicketAction.CALL, TicketAction.RECALL, TicketAction.RESUME})


@dataclass(frozen=True)
class TicketView:
    """A ticket with where it stands in its queue."""

    ticket: Ticket
    ahead: int
    estimate_min: int
    counter: Counter | None


async def get_office(uow: UnitOfWork, principal: Principal, office_id: str) -> Office:
    """The office, if the caller's municipality (and office, for bound tokens) owns it."""
    office = await tenancy.find_office(uow.session, office_id, principal.municipality_code)
    if office is None or not principal.may_use_office(office_id):
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    return office


async def get_counter(uow: UnitOfWork, principal: Principal, counter_id: str) -> Counter:
    counter = await tenancy.find_counter(uow.session, counter_id, principal.municipality_code)
    if counter is None or not principal.may_use_office(counter.office_id):
        raise NotFound("窓口が見つかりません (no such counter)", counter_id=counter_id)
    return counter


async def issue_ticket(
    uow: UnitOfWork,
    principal: Principal,
    *,
    office_id: str,
    category_id: str,
    is_priority: bool,
    language: str,
    appointment: tuple[str, datetime] | None = None,
    then: list[str] | None = None,
) -> TicketView:
    """Give a resident the next number of the category's day (never the same number twice).

    On PostgreSQL a press is three statements: the office and category with the office's lobby
    seq (locking its channel row) and the number; the queue figures (every category's) with the
    office's waiting tickets and counters (``lobby_replay``) in one read (the counters alone
    when this process made the office's previous event: app/services/lobby_waits.py); the
    ticket, with the estimate shown and every model's beside it (its error is kept at the first
    call), the lobby event, its notification and the log row. The office's lobby changes wait
    for each other from the first until commit; the ticket is not in the database when the
    lobby is read, so the figures and the replay count it in."""
    found = None
    now = uow.now()
    day = business_day(now)
    if principal.may_use_office(office_id):
        found = await numbering.open_issue(
            uow,
            office_id=office_id,
            category_id=category_id,
            municipality_code=principal.municipality_code,
            at=now,
            day=day,
        )
    if found is None:
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    if found.category_id is None or found.prefix is None or not found.category_active:
        raise InvalidInput.field(
            "category", "unknown_category", "受付区分が見つかりません (no such category here)"
        )
    if found.seq is None or found.sequence is None:
        raise RuntimeError(f"office {found.office_id} has no lobby channel")
    stops = await check_plan(uow, principal, found.office_id, list(then or []))
    values: dict[str, Any] = {
        "id": new_id(),
        "municipality_code": found.municipality_code,
        "office_id": found.office_id,
        "category_id": found.category_id,
        "numbered_category_id": found.category_id,
        "business_day": day,
        "sequence": found.sequence,
        "number": format_number(found.prefix, found.sequence),
        "status": TicketStatus.WAITING,
        "is_priority": is_priority,
        "language": language,
        "public_key": secrets.token_urlsafe(16),
        "issued_at": now,
        "queued_at": now,
        "stops": stops or None,
    }
    if appointment is not None:
        # A checked-in appointment: its place in walk-in order is its check-in time.
        values |= {"appointment_id": appointment[0], "slot_at": appointment[1]}
    ticket = numbering.new_ticket(values)
    uow.log(
        entity="ticket",
        entity_id=ticket.id,
        action="issue",
        municipality_code=ticket.municipality_code,
        to_status=ticket.status,
        data={
            "number": ticket.number,
            "category_id": found.category_id,
            "is_priority": is_priority,
            **({"stops": stops} if stops else {}),
        },
    )
    # The figures the event carries also place the new ticket: no second read for the answer.
    # The lobby the event's waits were replayed from also gives this ticket's: no second read.
    event, waits = await lobby_events.lobby_event(
        uow,
        ticket,
        "ticket.issued",
        None,
        {found.category_id},
        found.seq,
        ahead_of=ticket,
        stored=False,
    )
    mine = next(f for f in waits.figures if f.category_id == found.category_id)
    queue = lobby.queue_now(mine, mine.ahead, waits.replayed, ticket.id, waits.ticket_min)
    shadow = shadow_estimates(queue)
    # The estimate shown is the one stored with the ticket, in the same statement.
    ticket = numbering.new_ticket({**values, "estimate_min": shadow[IN_USE], "estimates": shadow})
    await numbering.store_issued(uow, ticket, event)
    uow.lobby_changed(ticket.office_id, found.seq)
    return TicketView(ticket, mine.ahead, shadow[IN_USE], None)


async def _next_stop(uow: UnitOfWork, ticket: Ticket) -> None:
    """A stop of a plan is finished: the ticket waits at the next category, keeping its number
    and its place by arrival time (``queued_at``)."""
    # The stop's own wait and service time, for the estimates and the day's statistics.
    await ticket_stops.record_stop(uow.session, ticket, uow.now())
    stops = list(ticket.stops or [])
    old_category = ticket.category_id
    ticket.category_id = stops.pop(0)
    ticket.stops = stops or None
    ticket.target_counter_id = None
    category = await tenancy.get_category(uow.session, ticket.category_id)
    assert category is not None
    next_stop = {
        "category_id": category.id,
        "prefix": category.prefix,
        "name_ja": category.name_ja,
        "name_en": category.name_en,
    }
    await _apply(
        uow,
        ticket,
        TicketAction.NEXT_STOP,
        None,
        categories={old_category},
        data={"next_stop": next_stop},
    )


async def view(
    uow: UnitOfWork, ticket: Ticket, category: TicketCategory | None = None
) -> TicketView:
    """Position and estimate of a ticket as the resident and the counter see them."""
    counter = await tenancy.get_counter(uow.session, ticket.counter_id)
    if ticket.status != TicketStatus.WAITING:
        return TicketView(ticket, 0, 0, counter)
    category = category or await tenancy.get_category(uow.session, ticket.category_id)
    assert category is not None
    ahead, estimate = await lobby.wait_of(uow.session, ticket, category, uow.settings, uow.now())
    return TicketView(ticket, ahead, estimate, counter)


async def _calling_counter(uow: UnitOfWork, principal: Principal, counter_id: str) -> Counter:
    """The counter, if it may call now: open and not paused."""
    counter = await get_counter(uow, principal, counter_id)
    if not counter.is_active:
        raise NotAllowed("この窓口は閉じています (counter is closed)", counter_id=counter_id)
    if counter.paused:
        raise CounterPaused(
            "この窓口は一時停止中のため呼び出せません。再開してください "
            "(counter is paused: resume it before calling)",
            counter_id=counter_id,
        )
    return counter


async def call_next(uow: UnitOfWork, principal: Principal, *, counter_id: str) -> Ticket | None:
    """Call the counter's next resident: priority first, then the oldest; None when nobody waits."""
    counter = await _calling_counter(uow, principal, counter_id)
    rules = uow.settings.appointments
    ticket = await ticket_store.claim_next_for_counter(
        uow.session,
        counter=counter,
        business_day=business_day(uow.now()),
        now=uow.now(),
        window=AppointmentWindow(rules.early_s, rules.grace_s, rules.max_passes),
    )
    if ticket is None:
        return None
    await _apply(uow, ticket, TicketAction.CALL, counter)
    return ticket


async def call_ticket(
    uow: UnitOfWork, principal: Principal, *, counter_id: str, ticket_ref: str
) -> Ticket:
    """Call a given waiting ticket (by id or today's number) of the counter's office to it."""
    counter = await _calling_counter(uow, principal, counter_id)
    ticket = await ticket_store.lock_ticket_in_office(
        uow.session,
        office_id=counter.office_id,
        business_day=business_day(uow.now()),
        ticket=ticket_ref,
    )
    if ticket is None:
        raise NotFound("番号札が見つかりません (no such ticket)", ticket=ticket_ref)
    await _apply(uow, ticket, TicketAction.CALL, counter)
    return ticket


async def act(
    uow: UnitOfWork, principal: Principal, *, ticket_id: str, action: TicketAction
) -> Ticket:
    """Recall, start, finish, no-show, cancel, hold or undo the call of a ticket; an illegal
    step (or a no-show within the grace time, an undo after its window) is refused."""
    ticket = await locked_ticket(uow, principal, ticket_id)
    counter = await tenancy.get_counter(uow.session, ticket.counter_id)
    now = uow.now()
    lobby_settings = uow.settings.lobby
    if action is TicketAction.NO_SHOW and ticket.status == TicketStatus.CALLED:
        left = seconds_left(ticket.called_at, now, lobby_settings.no_show_grace_s)
        if left > 0:
            raise TooSoon(
                f"呼出から間もないため不在にできません。あと {left} 秒お待ちください "
                f"(too soon for a no-show: wait {left} s more)",
                seconds_left=left,
            )
    undoing = action is TicketAction.UNDO_CALL and ticket.status == TicketStatus.CALLED
    if undoing and not undo_open(ticket.called_at, now, lobby_settings.undo_call_s):
        raise WindowClosed(
            f"呼出から {lobby_settings.undo_call_s:g} 秒を過ぎたため取り消せません "
            f"(a call can be undone only within {lobby_settings.undo_call_s:g} s)",
            window_s=lobby_settings.undo_call_s,
        )
    if action is TicketAction.FINISH and ticket.stops and ticket.status == TicketStatus.SERVING:
        await _next_stop(uow, ticket)
        return ticket
    await _apply(uow, ticket, action, counter)
    return ticket


async def resume(
    uow: UnitOfWork, principal: Principal, *, ticket_id: str, counter_id: str
) -> Ticket:
    """Call a held ticket again, to the counter resuming it."""
    ticket = await locked_ticket(uow, principal, ticket_id)
    counter = await _calling_counter(uow, principal, counter_id)
    if counter.office_id != ticket.office_id:
        raise InvalidInput.field(
            "counter", "unknown_counter", "窓口が見つかりません (no such counter here)"
        )
    await _apply(uow, ticket, TicketAction.RESUME, counter)
    return ticket


async def set_paused(
    uow: UnitOfWork, principal: Principal, *, counter_id: str, paused: bool
) -> Counter:
    """Pause a counter (it calls nobody until resumed) or resume it; displays are told."""
    counter = await get_counter(uow, principal, counter_id)
    if counter.paused == paused:
        return counter
    counter.paused = paused
    await uow.flush()
    uow.log(
        entity="counter",
        entity_id=counter.id,
        action="pause" if paused else "resume",
        municipality_code=counter.municipality_code,
        data={"label": counter.label},
    )
    now = uow.now()
    seq = await lobby_store.seq_for_change(uow, counter.office_id, now)
    event = lobby_store.event_row(
        seq=seq,
        municipality_code=counter.municipality_code,
        office_id=counter.office_id,
        type_="counter.paused" if paused else "counter.resumed",
        at=now,
        data={"counter_id": counter.id, "counter_label": counter.label, "paused": paused},
    )
    await lobby_store.store_event(uow, event)
    uow.lobby_changed(counter.office_id, seq)
    return counter


async def transfer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    ticket_id: str,
    category_id: str | None,
    counter_id: str | None,
) -> Ticket:
    """Send a resident to another category or counter; they keep their number and place."""
    if (category_id is None) == (counter_id is None):
        raise InvalidInput.field(
            "category",
            "one_target",
            "区分か窓口のどちらか一方を指定してください (give a category or a counter)",
        )
    ticket = await locked_ticket(uow, principal, ticket_id)
    old_category = ticket.category_id
    if category_id is not None:
        category = await tenancy.find_category(
            uow.session, category_id, principal.municipality_code
        )
        if category is None or category.office_id != ticket.office_id:
            raise InvalidInput.field(
                "category", "unknown_category", "受付区分が見つかりません (no such category here)"
            )
        target = None
        ticket.category_id = category.id
    else:
        target = await tenancy.find_counter(
            uow.session, counter_id or "", principal.municipality_code
        )
        if target is None or target.office_id != ticket.office_id:
            raise InvalidInput.field(
                "counter", "unknown_counter", "窓口が見つかりません (no such counter here)"
            )
    await _apply(uow, ticket, TicketAction.TRANSFER, None, categories={old_category})
    ticket.target_counter_id = target.id if target else None
    return ticket


async def _apply(
    uow: UnitOfWork,
    ticket: Ticket,
    action: TicketAction,
    counter: Counter | None,
    categories: set[str] | None = None,
    data: dict[str, object] | None = None,
) -> None:
    before = TicketStatus(ticket.status)
    after = next_status(before, action)
    now = uow.now()
    ticket.status = after
    if action is TicketAction.CALL and ticket.estimate_error_s is None:
        ticket.estimate_error_s = estimate_error_s(ticket.issued_at, now, ticket.estimate_min)
    if action in CALLING:
        ticket.call_count += 1
        ticket.recall_count += action is TicketAction.RECALL
        ticket.called_at = now
        ticket.counter_id = counter.id if counter else ticket.counter_id
        ticket.target_counter_id = None
    elif action is TicketAction.UNDO_CALL:
        # Back to its place: queued_at never changed; the mistaken call is not counted.
        ticket.call_count = max(0, ticket.call_count - 1)
        ticket.counter_id = None
        ticket.called_at = None
        ticket.last_call_seq = None
    elif action is TicketAction.HOLD:
        ticket.counter_id = None
    elif action is TicketAction.START:
        ticket.started_at = now
    elif action in (TicketAction.FINISH, TicketAction.CANCEL):
        ticket.finished_at = now
    elif action in (TicketAction.TRANSFER, TicketAction.NEXT_STOP):
        ticket.counter_id = None
        ticket.called_at = None
        ticket.started_at = None
    await uow.flush()
    uow.log(
        entity="ticket",
        entity_id=ticket.id,
        action=action,
        municipality_code=ticket.municipality_code,
        from_status=before,
        to_status=after,
        data={"counter_id": counter.id} if counter else None,
    )
    seq = await lobby_events.announce(
        uow,
        ticket,
        EVENT_OF_ACTION[action],
        counter,
        (categories or set()) | {ticket.category_id},
        data=data,
    )
    if action in CALLING:
        ticket.last_call_seq = seq


async def public_status(
    uow: UnitOfWork, *, ticket_id: str, key: str, office_id: str | None = None
) -> TicketView:
    """The resident's view of their ticket, by the key printed in its QR code; a link that names
    an office finds only that office's tickets."""
    ticket = await ticket_store.get_ticket(uow.session, ticket_id)
    if (
        ticket is None
        or not secrets.compare_digest(ticket.public_key.encode(), key.encode())
        or (office_id is not None and office_id != ticket.office_id)
    ):
        raise NotFound("番号札が見つかりません (no such ticket)", ticket_id=ticket_id)
    return await view(uow, ticket)
