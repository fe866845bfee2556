"""Tables of the tenancy, tokens, lobby and the append-only event log."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.storage.db import new_id

# The tasks a claim may take (an expired lease is taken over); the claim repeats this term so
# that both databases use the partial index ix_task_ready.
READY_PREDICATE = "status IN ('open', 'leased')"
REVIEW_READY_PREDICATE = "status IN ('open', 'leased') AND kind = 'review'"
# The lobby's figures: waiting tickets counted per category, the last service times per category.
WAITING_PREDICATE = "status = 'waiting'"
DONE_PREDICATE = "status = 'done'"
# Log rows the audit sealer has not chained yet; it reads them through a partial index.
UNSEALED_PREDICATE = "chain_seq IS NULL"


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
    # A vendor token sees the batches of this one contract; without it, none.
    contract_id: str | None = Field(default=None, foreign_key="vendor_contract.id", max_length=32)
    # The person a staff token belongs to: their tokens and sessions are one person (four eyes).
    staff_id: str | None = Field(default=None, foreign_key="staff.id", index=True, max_length=32)


class Staff(SQLModel, table=True):
    """A person who works the consoles: city staff or a vendor's employee (DOMAIN.md §3.5)."""

    __tablename__ = "staff"
    __table_args__ = (
        UniqueConstraint("municipality_code", "staff_id"),
        UniqueConstraint("sso_subject"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    # The city's or the vendor's own staff number: what the person types to sign in.
    staff_id: str = Field(max_length=32)
    name: str
    employer: str = Field(max_length=8)
    role: str = Field(max_length=16)
    office_id: str | None = Field(default=None, foreign_key="office.id", max_length=32)
    contract_id: str | None = Field(default=None, foreign_key="vendor_contract.id", max_length=32)
    # Procedure codes the person may work on; None: every procedure.
    qualifications: list[str] | None = json_column(nullable=True)
    # argon2id (PHC string); None: no password sign-in (SSO only).
    password_hash: str | None = Field(default=None, max_length=255)
    # The subject the city's SSO proxy names in its header.
    sso_subject: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    # Consecutive failed sign-ins, and until when sign-in is refused after too many.
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


class StaffSession(SQLModel, table=True):
    """A signed-in console: the cookie holds a random secret, only its hash is stored."""

    __tablename__ = "staff_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    staff_id: str = Field(foreign_key="staff.id", index=True, max_length=32)
    session_hash: str = Field(unique=True, max_length=64)
    # Echoed in X-Madoguchi-CSRF by every state-changing request made with the cookie.
    csrf_token: str = Field(max_length=64)
    method: str = Field(max_length=16)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
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
        # A category's waiting tickets (the count every lobby event carries), without reading
        # the rest of the office's queue.
        Index("ix_ticket_waiting", "office_id", "business_day", "category_id", "queued_at",
              postgresql_where=text(WAITING_PREDICATE), sqlite_where=text(WAITING_PREDICATE)),
        # A category's latest service times, newest first, whatever the length of its history.
        Index("ix_ticket_done", "category_id", "finished_at",
              postgresql_where=text(DONE_PREDICATE), sqlite_where=text(DONE_PREDICATE)),
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
    __table_args__ = (
        Index("ix_event_log_entity", "entity", "entity_id", "id"),
        Index("ix_event_log_chain", "municipality_code", "chain_seq", unique=True),
        Index("ix_event_log_unsealed", "municipality_code", "id",
              postgresql_where=text(UNSEALED_PREDICATE), sqlite_where=text(UNSEALED_PREDICATE)),
    )

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
    # Place and hash in the municipality's tamper-evident chain (app/domain/audit.py). Writers
    # leave both empty; the sealer fills them, so no writer waits for a chain lock.
    chain_seq: int | None = Field(default=None, sa_type=BigInteger)
    chain_hash: str | None = Field(default=None, max_length=64)
    # The writer's keyed MAC and the id of its key (app/domain/audit.py): only the service can
    # write a row the sealer will chain. NULL on rows sealed before MACs existed.
    mac: str | None = Field(default=None, max_length=64)
    mac_key: str | None = Field(default=None, max_length=16)


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
    # When batches were last sealed for it (by schedule or by hand); the schedule counts from here.
    last_seal_at: datetime | None = None


class Application(SQLModel, table=True):
    """One filed form, whatever channel it came by; names stored exactly as captured."""

    __tablename__ = "application"
    __table_args__ = (
        UniqueConstraint("municipality_code", "sender_id", "external_ref"),
        UniqueConstraint("municipality_code", "core_seq"),
        Index("ix_application_status", "municipality_code", "status", "procedure"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    procedure: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    status: str = Field(max_length=16)
    received_at: datetime
    due_on: date | None = None
    external_ref: str | None = Field(default=None, max_length=200)
    # The intake token that sent it: a second form with the same external_ref from the same
    # sender is the same form.
    sender_id: str = Field(max_length=32)
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", max_length=32)
    applicant: dict[str, Any] = json_column()
    fields: dict[str, Any] = json_column()
    ocr: dict[str, Any] | None = json_column(nullable=True)
    attachments: list[dict[str, Any]] = json_column()
    values: dict[str, Any] = json_column()
    problems: list[dict[str, Any]] = json_column()
    proposals: list[dict[str, Any]] = json_column()
    household_key: str = Field(max_length=64)
    # 支援措置 (DV protection): city staff only, never leaves for the vendor (DOMAIN.md §4.6).
    is_protected: bool = False
    has_my_number: bool = False
    urgency: int = Field(sa_type=BigInteger)
    return_reason: str | None = None
    # Everyone who keyed, verified or settled it (the four-eyes rule reads this).
    handled_by: list[str] = json_column()
    entry_employer: str | None = Field(default=None, max_length=8)
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    core_seq: int | None = Field(default=None, sa_type=BigInteger)


class Task(SQLModel, table=True):
    """One step of work on an application: entry, verify, settle or review."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_claim", "municipality_code", "status", "kind", "urgency"),
        # The claim's order, over the tasks it may take: it reads from the front and stops.
        Index("ix_task_ready", "municipality_code", "urgency", "created_at", "id",
              postgresql_where=text(READY_PREDICATE), sqlite_where=text(READY_PREDICATE)),
        Index("ix_task_review_ready", "municipality_code", "urgency", "created_at", "id",
              postgresql_where=text(REVIEW_READY_PREDICATE), sqlite_where=text(REVIEW_READY_PREDICATE)),
        Index("ix_task_household", "municipality_code", "household_key", "status"),
        Index("ix_task_application", "application_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    application_id: str = Field(foreign_key="application.id", max_length=32)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    procedure: str = Field(max_length=64)
    household_key: str = Field(max_length=64)
    # Fixed when the task is made (due date minus a boost for a resident waiting): no starving.
    urgency: int = Field(sa_type=BigInteger)
    # "central" is the pooled queue; "vendor_manager" holds returns of vendor-keyed work for
    # the vendor's 管理責任者 (no direct instructions to vendor operators: DOMAIN.md §3.3).
    queue: str = Field(default="central", max_length=16)
    city_only: bool = False
    field_keys: list[str] = json_column()
    note: str | None = None
    lease_token: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    holder_id: str | None = Field(default=None, max_length=32)
    created_at: datetime
    completed_at: datetime | None = None
    completed_by: str | None = Field(default=None, max_length=32)
    result: dict[str, Any] | None = json_column(nullable=True)
    batch_id: str | None = Field(default=None, max_length=32)


class TaskExclusion(SQLModel, table=True):
    """Who may not take a task: the four-eyes rule (nobody checks their own keying)."""

    __tablename__ = "task_exclusion"

    task_id: str = Field(foreign_key="task.id", primary_key=True, max_length=32)
    token_id: str = Field(primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)


class HouseholdLock(SQLModel, table=True):
    """One editor per household at a time (住基 j1380): held while its holder has a lease."""

    __tablename__ = "household_lock"

    municipality_code: str = Field(foreign_key="municipality.code", primary_key=True, max_length=6)
    household_key: str = Field(primary_key=True, max_length=64)
    holder_id: str | None = Field(default=None, max_length=32)
    expires_at: datetime | None = None


class CoreFeed(SQLModel, table=True):
    """Per municipality, the last sequence number given to an approved record."""

    __tablename__ = "core_feed"

    municipality_code: str = Field(foreign_key="municipality.code", primary_key=True, max_length=6)
    last_seq: int = Field(default=0, sa_type=BigInteger)


class AccessLog(SQLModel, table=True):
    """Every view of personal data, every My Number shown, every export (DOMAIN.md §7.12)."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_entity", "municipality_code", "entity_id"),
        Index("ix_access_log_chain", "municipality_code", "chain_seq", unique=True),
        Index("ix_access_log_unsealed", "municipality_code", "id",
              postgresql_where=text(UNSEALED_PREDICATE), sqlite_where=text(UNSEALED_PREDICATE)),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    at: datetime
    actor_id: str = Field(max_length=32)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    my_number_shown: bool = False
    detail: dict[str, Any] | None = json_column(nullable=True)
    # As on EventLog: filled by the sealer only.
    chain_seq: int | None = Field(default=None, sa_type=BigInteger)
    chain_hash: str | None = Field(default=None, max_length=64)
    mac: str | None = Field(default=None, max_length=64)
    mac_key: str | None = Field(default=None, max_length=16)


class AuditChainHead(SQLModel, table=True):
    """Per log and municipality, the last sealed entry of its chain; its row lock orders sealers."""

    __tablename__ = "audit_chain_head"

    log: str = Field(primary_key=True, max_length=16)
    municipality_code: str = Field(foreign_key="municipality.code", primary_key=True, max_length=6)
    last_seq: int = Field(default=0, sa_type=BigInteger)
    last_hash: str = Field(max_length=64)
    sealed_at: datetime
    # Entries up to here were sealed before rows carried MACs (set once, by the migration).
    unkeyed_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class VendorBatch(SQLModel, table=True):
    """Entry work sealed for a vendor: frozen content, manifest, lease (DOMAIN.md §4.2, §7.11)."""

    __tablename__ = "vendor_batch"
    __table_args__ = (Index("ix_vendor_batch_contract", "contract_id", "state", "sealed_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    contract_id: str = Field(foreign_key="vendor_contract.id", max_length=32)
    procedure: str = Field(max_length=64)
    step: str = Field(max_length=16)
    state: str = Field(max_length=16)
    item_count: int = 0
    # The contract's terms as they stood at sealing: what this delivery relied on.
    field_allow_list: list[str] = json_column()
    include_my_number: bool = False
    legal_basis: str | None = None
    encodings: list[str] = json_column()
    has_my_number: bool = False
    columns: list[str] = json_column()
    # {format: {encoding: {"sha256", "bytes"}}}
    manifest: dict[str, Any] = json_column()
    sealed_at: datetime
    lease_token: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    leased_at: datetime | None = None
    leased_by: str | None = Field(default=None, max_length=32)
    lease_count: int = 0
    results_count: int = 0
    returned_count: int = 0
    closed_at: datetime | None = None


class VendorBatchItem(SQLModel, table=True):
    """One sealed item: its content frozen as the exact JSON line the vendor receives."""

    __tablename__ = "vendor_batch_item"
    __table_args__ = (UniqueConstraint("batch_id", "task_id"),)

    batch_id: str = Field(foreign_key="vendor_batch.id", primary_key=True, max_length=32)
    seq: int = Field(primary_key=True)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    task_id: str = Field(foreign_key="task.id", max_length=32)
    application_id: str = Field(max_length=32)
    payload: str = Field(sa_type=Text)
    # The first accepted result: a replay with the same values answers the same, others 409.
    result_sha256: str | None = Field(default=None, max_length=64)
    result: dict[str, Any] | None = json_column(nullable=True)
    result_at: datetime | None = None


class VendorHoldback(SQLModel, table=True):
    """Entry work a contract could not carry (CP932 pre-flight): stays for internal keying."""

    __tablename__ = "vendor_holdback"

    contract_id: str = Field(foreign_key="vendor_contract.id", primary_key=True, max_length=32)
    task_id: str = Field(foreign_key="task.id", primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    application_id: str = Field(max_length=32)
    reason: str = Field(max_length=32)
    detail: list[dict[str, Any]] = json_column()
    created_at: datetime


# Sealing reads one procedure's open entry work of the central queue in (urgency, id) order;
# status reports share one due date, so the id must be in the index too, or every chunk sorts.
Index("ix_task_seal", Task.__table__.c.municipality_code, Task.__table__.c.procedure, Task.__table__.c.queue,
      Task.__table__.c.kind, Task.__table__.c.status, Task.__table__.c.urgency, Task.__table__.c.id)
