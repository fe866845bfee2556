"""Vendor contracts and the batches sealed under them."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.db import new_id, table_of
from app.storage.tables.common import json_column
from app.storage.tables.work import Task


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
Index(
    "ix_task_seal",
    table_of(Task).c.municipality_code,
    table_of(Task).c.procedure,
    table_of(Task).c.queue,
    table_of(Task).c.kind,
    table_of(Task).c.status,
    table_of(Task).c.urgency,
    table_of(Task).c.id,
)
