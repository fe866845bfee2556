"""Tables of the tenancy, tokens, lobby and the append-only event log."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.db import new_id


def json_column(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Municipality(SQLModel, table=True):
    __tablename__ = "municipality"

    code: str = Field(primary_key=True, max_length=6)
    name_ja: str
    name_en: str
    created_at: datetime


class Office(SQLModel, table=True):
    __tablename__ = "office"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    name_ja: str
    name_en: str
    created_at: datetime


class Counter(SQLModel, table=True):
    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("office_id", "label"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    office_id: str = Field(foreign_key="office.id", index=True, max_length=32)
    # What the display says: 「3番窓口へ」 → label "3".
    label: str = Field(max_length=16)
    name_ja: str
    name_en: str
    is_active: bool = True


class TicketCategory(SQLModel, table=True):
    __tablename__ = "ticket_category"
    __table_args__ = (UniqueConstraint("office_id", "prefix"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    office_id: str = Field(foreign_key="office.id", index=True, max_length=32)
    prefix: str = Field(max_length=1)
    name_ja: str
    name_en: str
    default_service_s: int = 300
    is_active: bool = True


class CounterCategory(SQLModel, table=True):
    """Which categories a counter serves."""

    __tablename__ = "counter_category"

    counter_id: str = Field(foreign_key="counter.id", primary_key=True, max_length=32)
    category_id: str = Field(foreign_key="ticket_category.id", primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    office_id: str | None = Field(default=None, foreign_key="office.id", max_length=32)
    role: str = Field(max_length=16)
    employer: str | None = Field(default=None, max_length=8)
    name: str
    # SHA-256 of the secret; the secret itself is shown once and never stored.
    token_hash: str = Field(unique=True, max_length=64)
    qualifications: list[str] | None = json_column(nullable=True)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


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
    last_call_seq: int | None = Field(default=None, sa_type=BigInteger)
    application_id: str | None = Field(default=None, max_length=32)
    progress: str | None = Field(default=None, max_length=32)


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


class EventLog(SQLModel, table=True):
    """Append-only: every state change, who made it, when, from what to what."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_entity", "entity", "entity_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    at: datetime
    actor_id: str | None = Field(default=None, max_length=32)
    actor_role: str | None = Field(default=None, max_length=16)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    action: str = Field(max_length=48)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    data: dict[str, Any] | None = json_column(nullable=True)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    token_id: str = Field(max_length=32)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    body: dict[str, Any] | None = json_column(nullable=True)
    created_at: datetime


class VendorContract(SQLModel, table=True):
    """What an outsourcing vendor may receive: procedures, steps, fields, encodings, schedule."""

    __tablename__ = "vendor_contract"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", index=True, max_length=6)
    vendor_name: str
    # The vendor's own systems authenticate with tokens of role "vendor" naming this contract.
    procedures: list[str] = json_column()
    steps: list[str] = json_column()
    field_allow_list: list[str] = json_column()
    # 個人番号利用事務の委託 must be in the contract for My Numbers to leave (番号法 §10).
    include_my_number: bool = False
    legal_basis: str | None = None
    encodings: list[str] = json_column()
    batch_size: int = 500
    seal_every_s: int = 3600
    lease_s: int = 1800
    is_active: bool = True
    created_at: datetime
