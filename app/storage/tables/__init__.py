"""Every table, one module per area; ``from app.storage.tables import X`` names any of them."""

from app.storage.tables.common import (
    DONE_PREDICATE,
    READY_PREDICATE,
    REVIEW_READY_PREDICATE,
    UNSEALED_PREDICATE,
    WAITING_PREDICATE,
    json_column,
)
from app.storage.tables.lobby import LobbyChannel, LobbyEvent, Ticket, TicketSequence
from app.storage.tables.logs import AccessLog, AuditChainHead, EventLog
from app.storage.tables.tenancy import (
    ApiToken,
    Counter,
    CounterCategory,
    DemoSeed,
    IdempotencyRecord,
    Municipality,
    Office,
    Staff,
    StaffSession,
    TicketCategory,
)
from app.storage.tables.vendor import VendorBatch, VendorBatchItem, VendorContract, VendorHoldback
from app.storage.tables.work import (
    Application,
    CoreFeed,
    FollowUp,
    HouseholdLock,
    Task,
    TaskExclusion,
)

__all__ = [
    "DONE_PREDICATE",
    "READY_PREDICATE",
    "REVIEW_READY_PREDICATE",
    "UNSEALED_PREDICATE",
    "WAITING_PREDICATE",
    "AccessLog",
    "ApiToken",
    "Application",
    "AuditChainHead",
    "CoreFeed",
    "FollowUp",
    "Counter",
    "CounterCategory",
    "DemoSeed",
    "EventLog",
    "HouseholdLock",
    "IdempotencyRecord",
    "LobbyChannel",
    "LobbyEvent",
    "Municipality",
    "Office",
    "Staff",
    "StaffSession",
    "Task",
    "TaskExclusion",
    "Ticket",
    "TicketCategory",
    "TicketSequence",
    "VendorBatch",
    "VendorBatchItem",
    "VendorContract",
    "VendorHoldback",
    "json_column",
]
