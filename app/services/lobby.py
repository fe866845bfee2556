"""What the lobby shows: the snapshot, and the queue figures carried by every event."""

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.clock import business_day
from app.domain.errors import NotFound
from app.domain.estimates import IN_USE, MODELS, QueueNow, new_ticket_estimates
from app.domain.lobby_replay import CounterNow, LobbyNow, LobbyTicket
from app.domain.tickets import AppointmentWindow, TicketStatus
from app.realtime.messages import (
    CalledTicket,
    LobbySnapshot,
    MovedTicket,
    NextStop,
    OfficeInfo,
    PausedCounter,
    QueueState,
)
from app.services import lobby_waits
from app.services.announcements import announcement_refs, office_languages
from app.services.display_admin import quiet_hours_of
from app.settings import Settings
from app.storage import estimates as estimate_store
from app.storage import lobby as lobby_store
from app.storage import lobby_reads, tenancy, ticket_lists, ticket_stops
from app.storage import tickets as ticket_store
from app.storage.db import Session
from app.storage.tables import Office, Ticket, TicketCategory
from app.storage.uow import UnitOfWork


async def estimate_for(
    session: Session, category: TicketCategory, ahead: int, settings: Settings
) -> int:
    """Minutes of wait for a resident with ``ahead`` people before them in ``category``, from
    the category's figures alone (``lobby_replay`` falls back to ``mean_open`` here)."""
    if ahead <= 0:
        return 0
    counters, counters_open = await estimate_store.counters_serving(session, category.id)
    queue = QueueNow(
        ahead=ahead,
        recent_service_s=await estimate_store.recent_service_seconds(
            session, category.id, limit=settings.lobby.service_sample
        ),
        default_service_s=category.default_service_s,
        counters=counters,
        counters_open=counters_open,
    )
    return MODELS[IN_USE](queue)


async def read_lobby(
    session: Session,
    office_id: str,
    day: date,
    figures: Sequence[ticket_store.QueueFigures],
    settings: Settings,
    now: datetime,
) -> LobbyNow:
    """The office's lobby on ``day`` (one statement); ``figures``: every category's."""
    waiting, counters = await estimate_store.lobby_now(session, office_id, day)
    rules = settings.appointments
    window = AppointmentWindow(rules.early_s, rules.grace_s, rules.max_passes)
    return lobby_now(now, waiting, counters, figures, window)


async def wait_of(
    session: Session, ticket: Ticket, category: TicketCategory, settings: Settings, now: datetime
) -> tuple[int, int]:
    """A waiting ticket's people ahead in its category and its wait by the model in use, as
    the kiosk showed it at issue: one statement (the office's queue figures and its lobby)."""
    reads = await lobby_reads.read_for_event(
        session,
        ticket.office_id,
        ticket.business_day,
        sample=settings.lobby.service_sample,
        with_lobby=True,
        ahead_of=ticket,
    )
    figures = reads.figures
    mine = next((f for f in figures if f.category_id == ticket.category_id), None)
    if mine is None or reads.lobby is None:
        # A category no longer active: its own figures only.
        ahead = await ticket_store.count_ahead(session, ticket)
        return ahead, await estimate_for(session, category, ahead, settings)
    rules = settings.appointments
    window = AppointmentWindow(rules.early_s, rules.grace_s, rules.max_passes)
    replayed = lobby_now(now, *reads.lobby, figures, window)
    return mine.ahead, MODELS[IN_USE](queue_now(mine, mine.ahead, replayed, ticket.id))


def new_ticket_waits(
    figures: Sequence[ticket_store.QueueFigures],
    replayed: LobbyNow,
    ticket_id: str | None = None,
) -> tuple[dict[str, int], int | None, frozenset[str]]:
    """The wait a new ticket faces in each category of ``figures``, the one the kiosk would
    show a plain ticket issued now into ``replayed``; by the same replay, ``lobby_replay``'s
    wait for ``ticket_id`` (just issued); and the categories whose wait is the replay's."""
    return new_ticket_estimates(
        replayed, {f.category_id: queue_now(f, f.waiting) for f in figures}, ticket_id
    )


def queue_states_of(
    figures: Sequence[ticket_store.QueueFigures], waits: dict[str, int]
) -> list[QueueState]:
    """What displays show of each category: residents waiting, and the wait a new ticket faces
    (``waits``, by category)."""
    return [
        QueueState(
            category_id=f.category_id,
            prefix=f.prefix,
            name_ja=f.name_ja,
            name_en=f.name_en,
            waiting=f.waiting,
            estimate_min=waits[f.category_id],
        )
        for f in figures
    ]


def queue_now(
    figures: ticket_store.QueueFigures,
    ahead: int,
    replayed: LobbyNow | None = None,
    ticket_id: str | None = None,
    replayed_min: int | None = None,
) -> QueueNow:
    """The queue a resident with ``ahead`` people before them meets, for the wait models
    (``replayed``: the whole lobby, for ``lobby_replay``)."""
    return QueueNow(
        ahead=ahead,
        recent_service_s=figures.recent_service_s,
        default_service_s=figures.default_service_s,
        counters=figures.counters,
        counters_open=figures.counters_open,
        lobby=replayed,
        ticket_id=ticket_id,
        replayed_min=replayed_min,
    )


def lobby_now(
    now: datetime,
    waiting: list[LobbyTicket],
    counters: list[CounterNow],
    figures: Sequence[ticket_store.QueueFigures],
    window: AppointmentWindow,
) -> LobbyNow:
    """The lobby the replay model starts from; each category's expected service time is the
    mean of its recent ones (else its default)."""
    return LobbyNow(
        now=now,
        waiting=waiting,
        counters=counters,
        service_s={
            f.category_id: statistics.fmean(f.recent_service_s)
            if f.recent_service_s
            else float(f.default_service_s)
            for f in figures
        },
        window=window,
    )


async def queue_states(
    session: Session,
    office_id: str,
    day: date,
    settings: Settings,
    now: datetime,
    seq: int | None = None,
) -> list[QueueState]:
    """Waiting count and estimate for a new ticket, per category of the office: two statements
    (the queue figures, the lobby). With ``seq`` (a display's snapshot, valid at that seq), a
    large lobby's waits come from its last replay when under a second old, as the events'
    do (app/services/lobby_waits.py), and a replay made here is kept for them."""
    figures = await ticket_store.queue_figures(
        session, office_id, day, sample=settings.lobby.service_sample
    )
    if seq is not None:
        waiting = sum(f.waiting for f in figures)
        recent = lobby_waits.reusable(office_id, day, seq + 1, now, waiting, settings)
        if recent is not None and all(f.category_id in recent.waits for f in figures):
            return queue_states_of(figures, recent.waits)
    replayed = await read_lobby(session, office_id, day, figures, settings, now)
    waits, _none, by_replay = new_ticket_waits(figures, replayed)
    if seq is not None:
        waiting = sum(f.waiting for f in figures)
        recent = lobby_waits.RecentWaits(seq, now, waits, by_replay, waiting)
        lobby_waits.remember(office_id, day, recent)
    return queue_states_of(figures, waits)


# How many moved-on numbers a snapshot names (the display shows three).
MOVED_ON_DISPLAY = 3


async def build_snapshot(
    session: Session, office: Office, settings: Settings, now: datetime
) -> LobbySnapshot:
    """The whole state a display needs, with the seq it is valid at."""
    channel = await lobby_store.get_channel(session, office.id)
    if channel is None:
        raise NotFound("窓口が見つかりません (no such office)", office_id=office.id)
    day = business_day(now)
    counters = {c.id: c for c in await tenancy.list_counters(session, office.id)}
    called = []
    for ticket in await ticket_lists.list_at_counters(
        session, office.id, day, limit=settings.display.recent_calls
    ):
        counter = counters.get(ticket.counter_id or "")
        if counter is None or ticket.called_at is None:
            continue
        called.append(
            CalledTicket(
                number=ticket.number,
                counter_id=counter.id,
                counter_label=counter.label,
                status=TicketStatus(ticket.status).value,  # type: ignore[arg-type]
                called_at=ticket.called_at,
                call_count=ticket.call_count,
                seq=ticket.last_call_seq,
                announcements=announcement_refs(
                    office_id=office.id,
                    counter_id=counter.id,
                    counter_label=counter.label,
                    number=ticket.number,
                    ticket_language=ticket.language,
                    office_languages=office_languages(office.announce_languages),
                ),
            )
        )
    return LobbySnapshot(
        seq=channel.seq,
        epoch=channel.epoch,
        at=now,
        office=OfficeInfo(
            id=office.id,
            name_ja=office.name_ja,
            name_en=office.name_en,
            quiet_hours=quiet_hours_of(office.quiet_hours),
            gateway=hook.channel if (hook := settings.notify.gateway_for(office.id)) else None,
        ),
        called=called,
        queues=await queue_states(session, office.id, day, settings, now, channel.seq),
        paused_counters=[
            PausedCounter(counter_id=c.id, counter_label=c.label)
            for c in counters.values()
            if c.paused and c.is_active
        ],
        moved=[
            MovedTicket(
                number=number,
                next_stop=NextStop(
                    category_id=category.id,
                    prefix=category.prefix,
                    name_ja=category.name_ja,
                    name_en=category.name_en,
                ),
            )
            for number, category in await ticket_stops.moved_on(
                session, office.id, day, limit=MOVED_ON_DISPLAY
            )
        ],
    )


def as_lobby_ticket(ticket: Ticket) -> LobbyTicket:
    """A waiting ticket as the replay sees it."""
    return LobbyTicket(
        id=ticket.id,
        category_id=ticket.category_id,
        queued_at=ticket.queued_at,
        is_priority=ticket.is_priority,
        slot_at=ticket.slot_at,
        passed_by=ticket.passed_by,
        target_counter_id=ticket.target_counter_id,
        stops=tuple(ticket.stops or ()),
    )


@dataclass(frozen=True)
class EventWaits:
    """What a lobby event carries of the queues: every category's figures, the wait a new
    ticket faces per category, the lobby they were replayed from (None: the last replay's
    reused) and, for a ticket just issued, its ``lobby_replay`` wait (None: unknown, its queue's
    figures decide)."""

    figures: list[ticket_store.QueueFigures]
    waits: dict[str, int]
    replayed: LobbyNow | None
    ticket_min: int | None


async def event_waits(
    uow: UnitOfWork,
    ticket: Ticket,
    seq: int,
    ahead_of: Ticket | None = None,
    *,
    stored: bool = True,
) -> EventWaits:
    """The figures and waits the lobby event ``seq`` of a change to ``ticket`` carries (after the
    change), read once the office's channel row is locked: one statement, the figures and, unless
    the event will most likely carry the last replay's waits, the lobby. ``ahead_of``: just
    issued; ``stored`` False: ``ticket`` is not in the database yet (it is inserted with the
    event) and is counted here."""
    now = uow.now()
    day = ticket.business_day
    settings = uow.settings
    office_id = ticket.office_id
    plain = ahead_of is None or lobby_waits.is_plain(ahead_of)
    recent = lobby_waits.recent_replay(office_id, day, seq, now, settings) if plain else None
    # A ticket just issued joins the waiting tickets this process knows from the event before.
    known = None if stored else lobby_waits.waiting_before(office_id, day, seq)
    reads = await lobby_reads.read_for_event(
        uow.session,
        office_id,
        day,
        sample=settings.lobby.service_sample,
        with_lobby=not lobby_waits.expects_reuse(recent, settings),
        ahead_of=ahead_of,
        with_waiting=known is None,
    )
    figures = reads.figures
    if not stored:
        for f in figures:
            f.waiting += f.category_id == ticket.category_id
    waiting = sum(f.waiting for f in figures)
    if (
        recent is not None
        and waiting >= settings.lobby.replay_every_event_below
        and all(f.category_id in recent.waits for f in figures)
    ):
        ticket_min = None
        if ahead_of is not None and ahead_of.category_id in recent.replayed:
            ticket_min = recent.waits[ahead_of.category_id]
        return EventWaits(figures, recent.waits, None, ticket_min)
    if reads.lobby is not None and known is not None:
        tickets = [*known, as_lobby_ticket(ticket)]
        counters = reads.lobby[1]
        if not _counts_agree(tickets, figures):
            tickets, counters = await estimate_store.lobby_now(uow.session, office_id, day)
            tickets.append(as_lobby_ticket(ticket))
    else:
        tickets, counters = reads.lobby or await estimate_store.lobby_now(
            uow.session, office_id, day
        )
        if not stored:
            tickets = [*tickets, as_lobby_ticket(ticket)]
    rules = settings.appointments
    window = AppointmentWindow(rules.early_s, rules.grace_s, rules.max_passes)
    replayed = lobby_now(now, tickets, counters, figures, window)
    waits, ticket_min, by_replay = new_ticket_waits(
        figures, replayed, None if ahead_of is None else ahead_of.id
    )
    fresh = lobby_waits.RecentWaits(seq, now, waits, by_replay, waiting)
    after = tuple(tickets)

    def keep() -> None:
        lobby_waits.remember(office_id, day, fresh)
        lobby_waits.keep_waiting(office_id, day, seq, after)

    uow.after_commit(keep)
    return EventWaits(figures, waits, replayed, ticket_min)


def _counts_agree(tickets: list[LobbyTicket], figures: Sequence[ticket_store.QueueFigures]) -> bool:
    """Whether the waiting tickets known here number what the figures, read now, count in each
    category: a check that no change outside the lobby's events went unseen."""
    counts = Counter(t.category_id for t in tickets)
    return all(counts[f.category_id] == f.waiting for f in figures)


def event_payload(number: str, queues: list[QueueState], **extra: Any) -> dict[str, Any]:
    return {"number": number, **extra, "queues": [q.model_dump(mode="json") for q in queues]}
