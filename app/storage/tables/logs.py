"""The append-only event and access logs, and the heads of their hash chains."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from app.storage.tables.common import UNSEALED_PREDICATE, json_column


class EventLog(SQLModel, table=True):
    """Append-only: every state change, who made it, when, from what to what."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_entity", "entity", "entity_id", "id"),
        Index("ix_event_log_chain", "municipality_code", "chain_seq", unique=True),
        Index(
            "ix_event_log_unsealed",
            "municipality_code",
            "id",
            postgresql_where=text(UNSEALED_PREDICATE),
            sqlite_where=text(UNSEALED_PREDICATE),
        ),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
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


class AccessLog(SQLModel, table=True):
    """Every view of personal data, every My Number shown, every export (DOMAIN.md §7.12)."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_entity", "municipality_code", "entity_id"),
        Index("ix_access_log_chain", "municipality_code", "chain_seq", unique=True),
        Index(
            "ix_access_log_unsealed",
            "municipality_code",
            "id",
            postgresql_where=text(UNSEALED_PREDICATE),
            sqlite_where=text(UNSEALED_PREDICATE),
        ),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
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
    unkeyed_upto: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
