"""Applications and the central queue's tasks, household locks, and the core system's feed."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.storage.db import new_id
from app.storage.tables.common import READY_PREDICATE, REVIEW_READY_PREDICATE, json_column


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
        Index(
            "ix_task_ready",
            "municipality_code",
            "urgency",
            "created_at",
            "id",
            postgresql_where=text(READY_PREDICATE),
            sqlite_where=text(READY_PREDICATE),
        ),
        Index(
            "ix_task_review_ready",
            "municipality_code",
            "urgency",
            "created_at",
            "id",
            postgresql_where=text(REVIEW_READY_PREDICATE),
            sqlite_where=text(REVIEW_READY_PREDICATE),
        ),
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


class FollowUp(SQLModel, table=True):
    """A procedure a move makes due in another department (a life event's follow-up).

    One per application, person and kind: approving the same move again adds none twice. It
    holds no name or number: the person is the member's place on the move form.
    """

    __tablename__ = "follow_up"
    __table_args__ = (
        UniqueConstraint("municipality_code", "application_id", "member", "kind"),
        Index("ix_follow_up_queue", "municipality_code", "department", "status", "due_on"),
        Index("ix_follow_up_application", "application_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    municipality_code: str = Field(foreign_key="municipality.code", max_length=6)
    application_id: str = Field(foreign_key="application.id", max_length=32)
    member: str = Field(max_length=32)
    kind: str = Field(max_length=64)
    department: str = Field(max_length=32)
    status: str = Field(default="open", max_length=16)
    due_on: date | None = None
    created_at: datetime
    updated_at: datetime
