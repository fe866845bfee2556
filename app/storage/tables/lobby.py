"""The lobby: daily numbering, tickets, and each office's channel of events."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
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
    # A plan of stops: the categories still to visit after the current one, in order. Finishing
    # a stop moves the ticket to the next (same number, same queued_at); null: no plan.
    stops: list[str] | None = json_column(nullable=True)


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
