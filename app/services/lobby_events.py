"""The lobby event of a ticket command: what it carries (the queue figures, the waits a new
ticket faces, a call's announcements) and, for the commands other than issue, its storing."""

from typing import Any

from app.services import announcements, lobby
from app.storage import lobby as lobby_store
from app.storage.tables import Counter, Ticket
from app.storage.uow import UnitOfWork


async def lobby_event(
    uow: UnitOfWork,
    ticket: Ticket,
    event_type: str,
    counter: Counter | None,
    categories: set[str],
    seq: int,
    *,
    ahead_of: Ticket | None = None,
    stored: bool = True,
    data: dict[str, object] | None = None,
) -> tuple[dict[str, Any], lobby.EventWaits]:
    """The lobby event ``seq`` of a change to ``ticket`` (its row, for ``store_event``) and what
    it was made of: the queue figures of the office's every category (the event carries
    ``categories`` only) and the waits, replayed from the lobby read by the same statement
    (the kiosk's model; app/services/lobby_waits.py for a large lobby); with ``ahead_of`` (just
    issued; ``stored`` False: not inserted yet), its ``lobby_replay`` wait from the same replay.
    The caller holds the office's channel row (its seq)."""
    waits = await lobby.event_waits(uow, ticket, seq, ahead_of, stored=stored)
    queues = lobby.queue_states_of(
        [f for f in waits.figures if f.category_id in categories], waits.waits
    )
    extra: dict[str, object] = {
        "call_count": ticket.call_count,
        "recall_count": ticket.recall_count,
    }
    if counter is not None:
        extra |= {"counter_id": counter.id, "counter_label": counter.label}
        if event_type in announcements.SPOKEN_EVENTS:
            extra["announcements"] = await announcements.for_call(uow, ticket, counter)
    extra |= data or {}
    event = lobby_store.event_row(
        seq=seq,
        municipality_code=ticket.municipality_code,
        office_id=ticket.office_id,
        type_=event_type,
        at=uow.now(),
        data=lobby.event_payload(ticket.number, queues, **extra),
    )
    return event, waits


async def announce(
    uow: UnitOfWork,
    ticket: Ticket,
    event_type: str,
    counter: Counter | None,
    categories: set[str],
    data: dict[str, object] | None = None,
) -> int:
    """Append the lobby event of a change to ``ticket`` (already flushed): its seq."""
    # Seq first: its row lock waits for every earlier lobby change to commit, so the figures
    # counted next are those at this event's place in the order, not a concurrent writer's.
    seq = await lobby_store.seq_for_change(uow, ticket.office_id, uow.now())
    event, _waits = await lobby_event(uow, ticket, event_type, counter, categories, seq, data=data)
    # The event, its notification and the command's log rows (PostgreSQL: one round trip).
    await lobby_store.store_event(uow, event)
    uow.lobby_changed(ticket.office_id, seq)
    return seq
