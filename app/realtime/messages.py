"""What a lobby display receives. This module is the contract with display/ (protocol.schema.json).

Numbers and counters only: never a name, never the procedure a ticket is for.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueueState(_Message):
    category_id: str
    prefix: str
    name_ja: str
    name_en: str
    waiting: int
    estimate_min: int


class AnnouncementRef(_Message):
    """One spoken announcement of a call: its words (shown on screen too) and its audio file,
    content-addressed (the same words always have the same URL; cache it for ever)."""

    language: str
    text: str
    url: str


class CalledTicket(_Message):
    number: str
    counter_id: str
    counter_label: str
    status: Literal["called", "serving"]
    called_at: datetime
    call_count: int
    # The lobby event that last called it: a display that reconnects announces those newer
    # than the last event it saw.
    seq: int | None
    # Japanese first, then the ticket's language when it differs (the office's languages).
    announcements: list[AnnouncementRef] = Field(default_factory=list)


class QuietHours(_Message):
    """A time of day (Japan time, [start, end)) when the display shows and flashes each call
    but plays no chime and no speech."""

    start: str = Field(pattern=r"^\d\d:\d\d$")
    end: str = Field(pattern=r"^\d\d:\d\d$")


class OfficeInfo(_Message):
    id: str
    name_ja: str
    name_en: str
    # The display applies them by the server's clock (learnt from each snapshot and heartbeat).
    quiet_hours: list[QuietHours] = Field(default_factory=list)
    # The channel of the office's LINE/SMS gateway, None without one: the kiosk then asks for a
    # mobile number or a LINE id for the near-turn notice (a setting, no personal data).
    gateway: Literal["sms", "line"] | None = None


class PausedCounter(_Message):
    counter_id: str
    counter_label: str


class LobbySnapshot(_Message):
    type: Literal["lobby.snapshot"] = "lobby.snapshot"
    seq: int
    epoch: str
    at: datetime
    office: OfficeInfo
    called: list[CalledTicket]
    queues: list[QueueState]
    # Open counters that call nobody for now (a break): the display shows them paused.
    paused_counters: list[PausedCounter] = Field(default_factory=list)
    # Numbers that finished a stop of their plan and are not yet called at the next one, the
    # latest first: a display that (re)connects shows their next stop again.
    moved: list["MovedTicket"] = Field(default_factory=list)


class NextStop(_Message):
    """A plan of stops: the category a ticket moved on to when its stop finished."""

    category_id: str
    prefix: str
    name_ja: str
    name_en: str


class MovedTicket(_Message):
    number: str
    next_stop: NextStop


class TicketEventData(_Message):
    number: str
    counter_id: str | None = None
    counter_label: str | None = None
    call_count: int = 0
    recall_count: int = 0
    queues: list[QueueState] = Field(default_factory=list)
    # ticket.transferred of a plan of stops: where the resident goes next.
    next_stop: NextStop | None = None
    # On a call, recall or resume: what the display says, in order (CalledTicket.announcements).
    announcements: list[AnnouncementRef] = Field(default_factory=list)


EventType = Literal[
    "ticket.issued",
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.finished",
    "ticket.no_show",
    "ticket.cancelled",
    "ticket.transferred",
    "ticket.ready",
    # Held (parked): off the display until resumed, which is a call like any other.
    "ticket.held",
    "ticket.resumed",
    # A mistaken call taken back: the display drops it at once.
    "ticket.call_withdrawn",
]


class LobbyEventMessage(_Message):
    type: EventType
    seq: int
    at: datetime
    data: TicketEventData


class CounterEventData(_Message):
    counter_id: str
    counter_label: str
    paused: bool


class CounterEventMessage(_Message):
    """A counter paused or resumed: the display shows or clears its paused mark."""

    type: Literal["counter.paused", "counter.resumed"]
    seq: int
    at: datetime
    data: CounterEventData


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    seq: int
    epoch: str
    at: datetime


class DisplayTest(_Message):
    """The test announcement an administrator sends (not sequenced, never replayed, never a
    call): the display plays the chime and these words like a call, quiet hours or not, and
    shows them as a test."""

    type: Literal["display.test"] = "display.test"
    at: datetime
    announcements: list[AnnouncementRef]


class DisplaySettings(_Message):
    """The office's display settings changed (not sequenced): the display applies them at once.
    A display that was away gets them in its next snapshot."""

    type: Literal["display.settings"] = "display.settings"
    at: datetime
    quiet_hours: list[QuietHours]


DisplayMessage = Annotated[
    LobbySnapshot
    | LobbyEventMessage
    | CounterEventMessage
    | Heartbeat
    | DisplayTest
    | DisplaySettings,
    Field(discriminator="type"),
]


class Resume(_Message):
    """Sent by a display that saw a gap: replays the events after ``after_seq``.

    The only message a display sends (inbound.py reads it strictly; anything else is closed).
    """

    type: Literal["resume"] = "resume"
    after_seq: int = Field(ge=0, le=2**63 - 1)


# How the server closes a display's connection, and what the display should do. A display
# reconnects after every close (with backoff) and starts again from the snapshot.
CLOSE_CODES: dict[str, str] = {
    "1003": "a binary frame: text frames only",
    "1008": "a message that is not a valid resume (reason says which), or more messages than "
    "the budget (2 a second, 10 at once; reason 'too many messages')",
    "1009": "a frame over 64 KiB, refused before it is read",
    "1011": "the server failed; reconnect",
    "1012": "the server is restarting; reconnect",
    "1013": "the display did not read for the send timeout (10 s), or held more than 1 MiB "
    "unread: reconnect, the snapshot brings it up to date",
    "4401": "the token is unknown, revoked or expired (re-checked every second while "
    "connected); a new token is needed",
    "4404": "no such office for this token",
}


display_message_adapter: TypeAdapter[DisplayMessage] = TypeAdapter(DisplayMessage)


def protocol_schema() -> dict[str, object]:
    """The JSON schema of both directions, written to display/protocol.schema.json."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Madoguchi lobby display protocol",
        "server_to_display": display_message_adapter.json_schema(),
        "display_to_server": Resume.model_json_schema(),
        "close_codes": CLOSE_CODES,
    }


LobbySnapshot.model_rebuild()
