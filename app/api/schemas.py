"""Request and response bodies of the lobby and administration API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from app.domain.bodies import Body
from app.realtime.messages import QueueState


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise PydanticCustomError(
            "timezone_required",
            "タイムゾーン付きの日時で指定してください (a date-time with a UTC offset, "
            "e.g. 2026-12-04T09:00:00+09:00 or 2026-12-04T00:00:00Z)",
        )
    return value


# Every date-time a request carries (body or query): an instant, so it must say its offset.
# A naive value would be read in whatever zone the server runs in; it is a 422 on its field.
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


# The kiosk's languages (clients/web/common/i18n/languages.json); "ja-easy" is やさしい日本語.
TicketLanguage = Literal["ja", "ja-easy", "en", "zh", "ko", "vi", "pt", "es", "tl", "ne", "id"]


class IssueTicket(Body):
    category: str = Field(min_length=1, max_length=64, description="Ticket category id")
    is_priority: bool = Field(
        False, description="Elderly, disabled or pregnant residents: called first"
    )
    language: TicketLanguage = Field(
        "ja", description="The resident's language, chosen on the kiosk: the status page uses it"
    )
    then: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=5,
        description="A plan of stops: further categories of the office, in order. Finishing "
        "each stop moves the ticket to the next one's queue, keeping its number and its place "
        "by arrival time",
    )
    email: str | None = Field(
        None,
        min_length=3,
        max_length=254,
        description="Optional: an address told by e-mail when the turn is near and when called "
        "(only the number and counter are sent; the address is cleared after the day)",
    )
    phone: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="Optional, instead of email, where the office has an SMS gateway: a Japanese "
        "mobile number (070/080/090 and 8 digits, hyphens allowed, or +81...), kept as E.164 "
        "and cleared after the day",
    )
    line: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Optional, instead of email, where the office has a LINE gateway: the "
        "gateway's LINE identifier (printable ASCII), cleared after the day",
    )


class TransferTicket(Body):
    category: str | None = Field(None, min_length=1, max_length=64)
    counter: str | None = Field(None, min_length=1, max_length=64)


class AddStop(Body):
    category: str = Field(min_length=1, max_length=64, description="The category to visit")
    at: int | None = Field(
        None, ge=0, le=64, description="Where in the plan: 0 = the next stop; absent = last"
    )


class CallTicket(Body):
    ticket: str = Field(min_length=1, max_length=64, description="The ticket's id or number")


class ResumeTicket(Body):
    counter: str = Field(min_length=1, max_length=64, description="The counter resuming it")


class TicketOut(BaseModel):
    id: str
    number: str
    status: str
    category_id: str
    office_id: str
    is_priority: bool
    language: str
    issued_at: datetime
    called_at: datetime | None
    counter_id: str | None
    counter_label: str | None
    call_count: int
    recall_count: int = 0
    next_stops: list[str] = Field(
        default_factory=list,
        description="Categories still to visit after this one (a plan of stops), in order",
    )
    position: int | None = Field(description="1 = next to be called; null unless waiting")
    ahead: int
    estimate_min: int
    allowed_actions: list[str]


class PaperTicketOut(BaseModel):
    """The office's receipt printer: printed, or not (the ticket stands either way)."""

    printed: bool
    notice: str | None = Field(
        default=None, description="Why the kiosk should show the number instead (ja and en)"
    )


class IssuedTicketOut(TicketOut):
    status_url: str
    public_key: str
    paper: PaperTicketOut | None = Field(
        default=None,
        description="Only where the office has a receipt printer (MADOGUCHI_RECEIPT__PRINTERS), "
        "and not on an Idempotency-Key replay (a retried issue prints nothing again)",
    )


class StopOut(BaseModel):
    name_ja: str
    name_en: str


class PublicTicketOut(BaseModel):
    """What a resident's phone may know: no names, no procedure."""

    number: str
    status: str
    position: int | None
    ahead: int
    estimate_min: int
    counter_label: str | None
    office_name_ja: str
    office_name_en: str
    progress: str | None
    language: str = Field(description="The language chosen at the kiosk: the status page uses it")
    stop: StopOut | None = Field(
        None, description="The category the ticket waits at or is served at now"
    )
    next_stops: list[StopOut] = Field(
        default_factory=list, description="A plan of stops: the categories after this one"
    )
    near: bool = Field(
        False,
        description="Waiting and near its turn (the office's N tickets ahead or M minutes): "
        "the status page alerts",
    )
    gateway: Literal["sms", "line"] | None = Field(
        None,
        description="The office's LINE/SMS gateway channel: the status page offers a mobile "
        "number (sms) or a LINE id (line) besides e-mail; null: e-mail only",
    )


class NoticeRequest(Body):
    key: str = Field(min_length=1, max_length=64, description="The ticket's key (its QR code)")
    email: str | None = Field(None, min_length=3, max_length=254)
    phone: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="Instead of email, where the office has an SMS gateway: a Japanese mobile "
        "number (070/080/090 and 8 digits, or +81...)",
    )
    line: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Instead of email, where the office has a LINE gateway: its LINE identifier",
    )
    office: str | None = Field(None, max_length=64, description="The office of the status link")


class CounterOut(BaseModel):
    id: str
    label: str
    name_ja: str
    name_en: str
    office_id: str
    is_active: bool
    paused: bool = False
    category_ids: list[str]


class WaitingTicket(BaseModel):
    id: str
    number: str
    category_id: str
    is_priority: bool
    issued_at: datetime
    target_counter_id: str | None


class ParkedTicket(BaseModel):
    """A held or no-show ticket: the counter resumes or recalls it."""

    id: str
    number: str
    category_id: str
    status: str
    counter_id: str | None
    recall_count: int


class FollowUpDepartment(BaseModel):
    department: str
    name_ja: str
    name_en: str
    open: int = Field(description="Open follow-ups of the move for this department")


class CounterBoard(BaseModel):
    """What a counter terminal shows: its current ticket and the waiting lists."""

    counter: CounterOut
    current: TicketOut | None
    queues: list[QueueState]
    waiting: list[WaitingTicket]
    parked: list[ParkedTicket] = Field(default_factory=list)
    follow_up_departments: list[FollowUpDepartment] = Field(
        default_factory=list,
        description="The current ticket's move: departments with open follow-ups "
        "(a life event's next stops), earliest due first; no names",
    )
