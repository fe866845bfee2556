"""What every table module shares: the partial indexes' predicates and JSON columns."""

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

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
