"""The waits a new ticket faces, per category, that every lobby event carries to the displays:
replayed from the whole lobby at each event while the lobby is small, and at most once every
``lobby.replay_interval_s`` per office in a large one (``lobby.replay_every_event_below``
residents waiting or more), where one replay reads and walks thousands of tickets.

Between two replays of a large lobby an event carries the last replay's waits (one second
old at most by default): a wait of an hour does not change visibly in a second, and the
waiting counts, read at every event, stay exact. A plain ticket just issued (no priority, no
appointment, no counter of its own) is called when its category's last resident is, so its
wait is its category's wait before it: the last replay's. The record is per process, kept
only once the event's transaction has committed.
"""

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.lobby_replay import LobbyTicket
from app.settings import Settings
from app.storage.tables import Ticket


@dataclass(frozen=True)
class RecentWaits:
    """The waits of one office's lobby as replayed at the event ``seq``, at ``at``."""

    seq: int
    at: datetime
    # Minutes a plain ticket issued then would wait, per category of the office.
    waits: dict[str, int]
    # The categories whose wait is the replay's (the others: ``mean_open``, no counter).
    replayed: frozenset[str]
    # Residents waiting in the office then: an event that expects to carry these waits (this
    # many or more, ``expects_reuse``) reads the figures alone, not the lobby with them.
    waiting: int = 0


# (office id, business day) -> its last replay. One entry per office a process has served.
_recent: dict[tuple[str, date], RecentWaits] = {}


def reusable(
    office_id: str,
    day: date,
    seq: int,
    now: datetime,
    waiting: int,
    settings: Settings,
) -> RecentWaits | None:
    """The last replay of the office's lobby when this event may carry it instead of its own:
    the lobby has ``replay_every_event_below`` residents waiting or more and the last replay,
    at an earlier event, is younger than ``replay_interval_s``."""
    if waiting < settings.lobby.replay_every_event_below:
        return None
    return recent_replay(office_id, day, seq, now, settings)


def recent_replay(
    office_id: str, day: date, seq: int, now: datetime, settings: Settings
) -> RecentWaits | None:
    """The last replay of the office's lobby if at an earlier event and younger than
    ``replay_interval_s``: the event ``seq`` may carry it if its lobby is large (``reusable``)."""
    recent = _recent.get((office_id, day))
    if recent is None or recent.seq >= seq:
        return None
    age_s = (now - recent.at).total_seconds()
    if not 0 <= age_s < settings.lobby.replay_interval_s:
        return None
    return recent


def expects_reuse(recent: RecentWaits | None, settings: Settings) -> bool:
    """Whether an event will most likely carry ``recent`` (``recent_replay``): its lobby was large
    then. Only a guess of what to read: ``reusable``'s rule, on the event's own count, decides."""
    return recent is not None and recent.waiting >= settings.lobby.replay_every_event_below


def remember(office_id: str, day: date, recent: RecentWaits) -> None:
    """Keep a replay's waits (after its event committed, or a snapshot's at its seq); a later
    replay replaces them."""
    key = (office_id, day)
    known = _recent.get(key)
    if known is None or (known.seq, known.at) < (recent.seq, recent.at):
        _recent[key] = recent


def forget() -> None:
    """Drop every kept replay and waiting list (a test starting from a new database)."""
    _recent.clear()
    _known_waiting.clear()


@dataclass(frozen=True)
class KnownWaiting:
    """The waiting tickets of an office's lobby right after its event ``seq`` of ``day``."""

    day: date
    seq: int
    tickets: tuple[LobbyTicket, ...]


# Office id -> its waiting tickets after the last event this process replayed the lobby at.
# Every change to a waiting ticket takes the office's next seq (its channel row, locked until
# commit), so the event right after ``seq`` starts from these tickets: a kiosk press adds its
# own and reads the office's counters and the tickets at them, not the waiting tickets again.
_known_waiting: dict[str, KnownWaiting] = {}


def waiting_before(office_id: str, day: date, seq: int) -> tuple[LobbyTicket, ...] | None:
    """The office's waiting tickets just before its event ``seq`` if this process replayed the
    lobby at the event right before it (``seq - 1``), else None (read them)."""
    known = _known_waiting.get(office_id)
    if known is None or known.day != day or known.seq != seq - 1:
        return None
    return known.tickets


def keep_waiting(office_id: str, day: date, seq: int, tickets: tuple[LobbyTicket, ...]) -> None:
    """Keep the office's waiting tickets after its event ``seq`` (once the event committed)."""
    known = _known_waiting.get(office_id)
    if known is None or (known.day, known.seq) < (day, seq):
        _known_waiting[office_id] = KnownWaiting(day, seq, tickets)


def is_plain(ticket: Ticket) -> bool:
    """A ticket that goes last in its category's walk-in order and passes nobody."""
    return not ticket.is_priority and ticket.slot_at is None and ticket.target_counter_id is None
