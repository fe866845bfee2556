"""The lobby: daily numbering, tickets, and each office's channel of events."""

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.storage.db import new_id
from app.storage.tables.common import DONE_PREDICATE, WAITING_PREDICATE, json_column


class TicketSequence(SQLModel, table=True):
    """The last number handed out per category and business day; one row, locked per issue."""

    __tablename__ = "ticket_sequence"

    category_id: str = Field(foreign_key="ticket_category.id", primary_key=True, max_length=32)
    business_day: date = Field(primary_key=True)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    last_value: int = 0


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("numbered_category_id", "business_day", "sequence"),
        Index("ix_ticket_queue", "office_id", "business_day", "status", "queued_at"),
        # A category's waiting tickets (the count every lobby event carries), without reading
        # the rest of the office's queue.
        Index(
            "ix_ticket_waiting",
            "office_id",
            "business_day",
            "category_id",
            "queued_at",
            postgresql_where=text(WAITING_PREDICATE),
            sqlite_where=text(WAITING_PREDICATE),
        ),
        # A category's latest service times, newest first, whatever the length of its history.
        Index(
            "ix_ticket_done",
            "category_id",
            "finished_at",
            postgresql_where=text(DONE_PREDICATE),
            sqlite_where=text(DONE_PREDICATE),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", index=True, max_length=32)
    # The category whose prefix and daily sequence the number came from; kept on transfer.
    numbered_category_id: str = Field(foreign_key="ticket_category.id", max_length=32)
    business_day: date
    sequence: int
    number: str = Field(max_length=16)
    status: str = Field(max_length=16)
    is_priority: bool = False
    language: str = Field(default="ja", max_length=8)
    # Capability for the resident's status page (the QR code); never shown to staff screens.
    public_key: str = Field(max_length=64)
    issued_at: datetime
    # Place in the queue: the issue time, kept when the ticket is transferred.
    queued_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counter_id: str | None = Field(default=None, foreign_key="counter.id", max_length=32)
    target_counter_id: str | None = Field(default=None, foreign_key="counter.id", max_length=32)
    call_count: int = 0
    # Times the number was called again (recall), shown on the counter board.
    recall_count: int = 0
    last_call_seq: int | None = Field(default=None, sa_type=BigInteger)
    application_id: str | None = Field(default=None, max_length=32)
    progress: str | None = Field(default=None, max_length=32)
    # A ticket of an appointment checked in at the kiosk: the appointment and its slot's start.
    appointment_id: str | None = Field(default=None, max_length=32)
    slot_at: datetime | None = None
    # Appointments called before this waiting ticket out of walk-in order (at most K).
    passed_by: int = 0
    # The wait the resident was shown at issue (minutes), and at the first call how far off it
    # was: the real wait minus the estimate, in seconds (negative: called sooner than shown).
    estimate_min: int | None = None
    estimate_error_s: int | None = None
    # Each wait model's estimate at issue, in minutes, the shown one among them
    # (app/domain/estimates.py ``MODELS``), for the daily estimate report; null before them.
    estimates: dict[str, int] | None = json_column(nullable=True)
    # A plan of stops: the categories still to visit after the current one, in order. Finishing
    # a stop moves the ticket to the next (same number, same queued_at); null: no plan.
    stops: list[str] | None = json_column(nullable=True)


class TicketNotice(SQLModel, table=True):
    """A resident's request to be told when their turn is near, and what was sent: by e-mail
    (``email``) or through the office's LINE/SMS gateway (``channel`` and ``recipient``, an
    E.164 number or the gateway's LINE id), one way at a time.

    The address or number is cleared once the ticket's day has ended (the notify job); the row
    stays with the kinds sent and the counts, which name no one."""

    __tablename__ = "ticket_notice"
    __table_args__ = (Index("ix_ticket_notice_day", "business_day", "municipality_code"),)

    ticket_id: str = Field(foreign_key="ticket.id", primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    business_day: date
    email: str | None = Field(default=None, max_length=254)
    # "email", "sms" or "line"; recipient: the number (E.164) or LINE id for the gateway.
    channel: str = Field(default="email", max_length=8)
    recipient: str | None = Field(default=None, max_length=128)
    # Set when the gateway refused the notice for good (a 4xx): nothing more is sent.
    refused: str | None = Field(default=None, max_length=64)
    # Kinds already sent ("near", "called"): each at most once per ticket.
    sent: list[str] = json_column()
    # Attempts made (sent or failed) and failures in a row; no attempt before retry_at.
    attempts: int = 0
    failures: int = 0
    retry_at: datetime | None = None
    created_at: datetime


class TicketStop(SQLModel, table=True):
    """A finished stop of a plan before the last: where the ticket waited, who served it and
    when. The ticket row moves on to the next category; this row keeps the stop's wait and
    service time for the wait estimates and the day's statistics."""

    __tablename__ = "ticket_stop"
    __table_args__ = (
        Index("ix_ticket_stop_day", "municipality_code", "business_day"),
        Index("ix_ticket_stop_done", "category_id", "finished_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    ticket_id: str = Field(foreign_key="ticket.id", index=True, max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", max_length=32)
    counter_id: str | None = Field(default=None, foreign_key="counter.id", max_length=32)
    business_day: date
    # Arrival at this stop: the issue for the first, the previous stop's finish after it.
    arrived_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime


class LobbyChannel(SQLModel, table=True):
    """Per office: the sequence of lobby events; its row lock orders events across processes."""

    __tablename__ = "lobby_channel"

    office_id: str = Field(foreign_key="office.id", primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    # Changes when the sequence restarts (restore, migration): displays then drop their state.
    epoch: str = Field(max_length=32)
    seq: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime


class LobbyEvent(SQLModel, table=True):
    __tablename__ = "lobby_event"

    office_id: str = Field(foreign_key="office.id", primary_key=True, max_length=32)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    type: str = Field(max_length=32)
    at: datetime
    data: dict[str, Any] = json_column()


class AppointmentHoursRow(SQLModel, table=True):
    """A category's appointment hours at its office (app/domain/appointments.py)."""

    __tablename__ = "appointment_hours"

    category_id: str = Field(foreign_key="ticket_category.id", primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    opens_at: time
    closes_at: time
    slot_minutes: int
    seats: int
    updated_at: datetime


class AppointmentSlot(SQLModel, table=True):
    """One slot of a category, made when first booked: its seats and how many are taken.
    A booking is one conditional UPDATE (``booked < seats``); the CHECK is the last guard."""

    __tablename__ = "appointment_slot"
    __table_args__ = (
        UniqueConstraint("category_id", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= seats", name="seats"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", max_length=32)
    starts_at: datetime
    seats: int
    booked: int = 0


class Appointment(SQLModel, table=True):
    """A booking: no name, only an initial and a contact the resident chose (optional)."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_office_slot", "office_id", "starts_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", max_length=32)
    slot_id: str = Field(foreign_key="appointment_slot.id", max_length=32)
    starts_at: datetime
    # SHA-256 of the confirmation code: the code itself is shown once and never stored.
    code_hash: str = Field(unique=True, max_length=64)
    initial: str = Field(max_length=4)
    contact: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)
    # "public" (the resident's page) or "staff" (booked for them, e.g. by phone).
    booked_by: str = Field(max_length=8)
    created_at: datetime
    updated_at: datetime
    checked_in_at: datetime | None = None
    ticket_id: str | None = Field(default=None, max_length=32)


class MoveInReservation(SQLModel, table=True):
    """転入予約 (引越しワンストップ): a 転出届 announced through the national portal, kept by the
    destination municipality until the resident checks in at a kiosk with its number."""

    __tablename__ = "move_in_reservation"
    __table_args__ = (
        UniqueConstraint("municipality_code", "portal_ref"),
        UniqueConstraint("municipality_code", "number"),
        Index("ix_move_in_reservation_due", "municipality_code", "status", "last_valid_day"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    office_id: str = Field(foreign_key="office.id", max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", max_length=32)
    # The portal's id of the 転出届: the same id sent twice is one reservation.
    portal_ref: str = Field(max_length=100)
    # The reservation number the resident brings (10 characters of the appointments' alphabet).
    number: str = Field(max_length=10)
    status: str = Field(max_length=16)
    planned_move_out_date: date
    planned_arrival: date
    last_valid_day: date
    # SHA-256 of what the portal sent: a resend with other content is a conflict.
    fingerprint: str = Field(max_length=64)
    applicant: dict[str, Any] = json_column()
    # The 転入届 pre-filled from the 転出届.
    fields: dict[str, Any] = json_column()
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    checked_in_at: datetime | None = None
    ticket_id: str | None = Field(default=None, max_length=32)
    application_id: str | None = Field(default=None, max_length=32)
