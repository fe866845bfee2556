"""Tenancy: municipalities, offices, counters, categories, tokens, staff and their sessions."""

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.db import new_id
from app.storage.tables.common import json_column


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
    # The languages calls are announced in ("ja,en"); empty: Japanese and every ticket's own.
    announce_languages: str = Field(
        default="", max_length=64, sa_column_kwargs={"server_default": ""}
    )
    # Quiet hours, Japan time ("12:00-13:00,15:30-16:00"): the displays show calls without sound.
    quiet_hours: str = Field(default="", max_length=128, sa_column_kwargs={"server_default": ""})
    # The last test announcement: one per office every few seconds, whichever process sends it.
    announce_test_at: datetime | None = None


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
    # Open but not calling (a break, a long case): call-next is refused, displays show it paused.
    paused: bool = False


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


class DemoSeed(SQLModel, table=True):
    """A demo municipality's random secret, drawn once: its demo tokens and passwords derive
    from it, so re-seeding prints the same ones. Demo only (production refuses to seed)."""

    __tablename__ = "demo_seed"

    municipality_code: str = Field(foreign_key="municipality.code", primary_key=True, max_length=6)
    secret: str = Field(max_length=64)
    created_at: datetime
