"""The shapes of the records commands hand back, as the HTTP edge reads them.

Structural types: a stored row has these attributes, so the edge can build its answers from
what a command returns without knowing how it is stored.
"""

from datetime import date, datetime
from typing import Any, Protocol


class ApplicationRecord(Protocol):
    id: str
    municipality_code: str
    procedure: str
    channel: str
    status: str
    received_at: datetime
    due_on: date | None
    external_ref: str | None
    ticket_id: str | None
    applicant: dict[str, Any]
    ocr: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    values: dict[str, Any]
    problems: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    is_protected: bool
    return_reason: str | None


class TaskRecord(Protocol):
    id: str
    application_id: str
    kind: str
    status: str
    procedure: str
    field_keys: list[str]
    note: str | None
    lease_token: str | None
    lease_expires_at: datetime | None
    result: dict[str, Any] | None


class StaffRecord(Protocol):
    id: str
    municipality_code: str
    staff_id: str
    name: str
    employer: str
    role: str
    office_id: str | None


class StaffSessionRecord(Protocol):
    method: str
    expires_at: datetime
    csrf_token: str


class VendorContractRecord(Protocol):
    id: str

    def model_dump(self, *, exclude: set[str] | None = None) -> dict[str, Any]: ...


class VendorBatchRecord(Protocol):
    id: str
    contract_id: str
    procedure: str
    step: str
    item_count: int
    manifest: dict[str, Any]
    sealed_at: datetime
    lease_expires_at: datetime | None
    results_count: int
    returned_count: int
    closed_at: datetime | None
    has_my_number: bool
