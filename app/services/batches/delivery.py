"""The vendor's side of a batch: its lease, the download and its bytes, the close; a recall."""

import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.batches import (
    CLOSED,
    FORMATS,
    BatchAction,
    BatchState,
    effective_state,
    lease_refusal,
    next_state,
)
from app.domain.errors import InvalidInput, NotFound, StaleLease
from app.domain.roles import Principal
from app.exports.formats import CSV_CELLS, Writer
from app.services.access import record_access
from app.services.batches.contracts import get_contract, vendor_contract
from app.storage import batches as store
from app.storage.db import Sessionmaker
from app.storage.tables import VendorBatch
from app.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


def state_of(batch: VendorBatch, now: datetime) -> BatchState:
    return effective_state(BatchState(batch.state), batch.lease_expires_at, now)


async def vendor_batch(
    uow: UnitOfWork, principal: Principal, batch_id: str, *, lock: bool = False
) -> VendorBatch:
    """The batch, if it was sealed under the caller's contract; 404 for anyone else's."""
    contract = await vendor_contract(uow, principal)
    batch = (
        None
        if contract is None
        else await store.find_batch(
            uow.session, batch_id, principal.municipality_code, contract_id=contract.id, lock=lock
        )
    )
    if batch is None:
        raise NotFound("バッチが見つかりません (no such batch)", batch_id=batch_id)
    return batch


def held_state(
    batch: VendorBatch, presented: str | None, action: BatchAction, now: datetime
) -> BatchState:
    """The state after ``action`` by the lease holder; 409 when closed or the lease is not held."""
    state = state_of(batch, now)
    if state in CLOSED:
        return next_state(state, action)  # raises: nothing happens to a closed batch
    why = lease_refusal(
        state=BatchState(batch.state),
        lease_token=batch.lease_token,
        lease_expires_at=batch.lease_expires_at,
        presented=presented,
        now=now,
    )
    if why:
        raise StaleLease(why, batch_id=batch.id)
    return next_state(state, action)


async def list_batches(
    uow: UnitOfWork,
    municipality_code: str,
    *,
    contract_id: str | None,
    states: list[BatchState] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[VendorBatch]:
    return await store.list_batches(
        uow.session,
        municipality_code=municipality_code,
        contract_id=contract_id,
        states=states,
        now=uow.now(),
        after=after,
        limit=limit,
    )


async def lease(
    uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None
) -> VendorBatch:
    """Lease a ready batch (a fresh token), or renew the lease when the holder's token comes
    along."""
    batch = await vendor_batch(uow, principal, batch_id, lock=True)
    contract = await get_contract(uow, batch.municipality_code, batch.contract_id)
    now = uow.now()
    if presented:
        batch.state = held_state(batch, presented, BatchAction.RENEW, now)
        action = "renew"
    else:
        batch.state = next_state(state_of(batch, now), BatchAction.LEASE)
        batch.lease_token = secrets.token_urlsafe(32)
        batch.lease_count += 1
        batch.leased_at, batch.leased_by = now, principal.token_id
        action = "lease"
    batch.lease_expires_at = now + timedelta(seconds=contract.lease_s)
    uow.log(
        entity="vendor_batch",
        entity_id=batch.id,
        action=action,
        municipality_code=batch.municipality_code,
        to_status=batch.state,
        data={"lease": batch.lease_count, "expires_at": batch.lease_expires_at.isoformat()},
    )
    return batch


@dataclass(frozen=True)
class Download:
    batch_id: str
    fmt: str
    encoding: str
    columns: list[str]
    sha256: str
    size: int
    first: int  # byte range, inclusive
    last: int
    contract_id: str
    legal_basis: str | None
    has_my_number: bool
    item_count: int
    # CSV cells neutralised for spreadsheets (every batch sealed since the rule; formats.py).
    safe: bool = True


async def open_download(
    uow: UnitOfWork,
    principal: Principal,
    batch_id: str,
    presented: str | None,
    *,
    fmt: str,
    encoding: str,
) -> Download:
    """The whole file asked for, once the lease and the contract's encodings say yes."""
    batch = await vendor_batch(uow, principal, batch_id)
    held_state(batch, presented, BatchAction.DOWNLOAD, uow.now())
    if fmt not in FORMATS:
        raise InvalidInput.field("format", "unknown_format", "jsonl か csv です (jsonl or csv)")
    if encoding not in batch.encodings:
        raise InvalidInput.field(
            "encoding",
            "encoding_not_in_contract",
            f"契約の文字コードは {', '.join(batch.encodings)} です (not in the contract)",
        )
    info = batch.manifest[fmt][encoding]
    return Download(
        batch_id=batch.id,
        fmt=fmt,
        encoding=encoding,
        columns=list(batch.columns),
        sha256=info["sha256"],
        size=info["bytes"],
        first=0,
        last=info["bytes"] - 1,
        contract_id=batch.contract_id,
        legal_basis=batch.legal_basis,
        has_my_number=batch.has_my_number,
        item_count=batch.item_count,
        safe=batch.manifest.get("csv_cells") == CSV_CELLS,
    )


def record_download(uow: UnitOfWork, principal: Principal, download: Download) -> None:
    """The access log's row for a download, with the contract (and legal basis) it relies on."""
    record_access(
        uow,
        principal,
        action="vendor_download",
        entity="vendor_batch",
        entity_id=download.batch_id,
        my_number_shown=download.has_my_number,
        detail={
            "contract": download.contract_id,
            "legal_basis": download.legal_basis,
            "format": download.fmt,
            "encoding": download.encoding,
            "sha256": download.sha256,
            "items": download.item_count,
            "bytes": [download.first, download.last],
        },
    )


async def stream(
    sessionmaker: Sessionmaker, download: Download, chunk: int
) -> AsyncIterator[bytes]:
    """The file's bytes from the frozen items, one short read per chunk (no transaction held)."""
    writer = Writer(download.fmt, download.encoding, download.columns, safe=download.safe)
    whole = download.first == 0 and download.last == download.size - 1
    digest = hashlib.sha256()
    position, after = 0, 0

    def clip(data: bytes) -> bytes:
        nonlocal position
        start, position = position, position + len(data)
        if whole:
            digest.update(data)
        return data[max(0, download.first - start) : max(0, download.last + 1 - start)]

    head = clip(writer.start())
    if head:
        yield head
    while position <= download.last:
        async with sessionmaker() as session:
            rows = await store.payloads_after(session, download.batch_id, after, chunk)
        if not rows:
            break
        after = rows[-1][0]
        part = clip(writer.chunk([payload for _seq, payload in rows]))
        if part:
            yield part
    if whole and digest.hexdigest() != download.sha256:
        log.error(
            "batch %s %s/%s no longer matches its manifest",
            download.batch_id,
            download.fmt,
            download.encoding,
        )


async def acknowledge(
    uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None
) -> VendorBatch:
    """Close the delivery; items without a result go back to the internal queue."""
    batch = await vendor_batch(uow, principal, batch_id, lock=True)
    batch.state = held_state(batch, presented, BatchAction.ACKNOWLEDGE, uow.now())
    await _close(uow, batch, "acknowledge")
    return batch


async def recall(uow: UnitOfWork, principal: Principal, batch_id: str) -> VendorBatch:
    """City staff take a batch back (abandoned, lease run out, contract ended); its holder is
    fenced."""
    batch = await store.find_batch(uow.session, batch_id, principal.municipality_code, lock=True)
    if batch is None:
        raise NotFound("バッチが見つかりません (no such batch)", batch_id=batch_id)
    batch.state = next_state(state_of(batch, uow.now()), BatchAction.RECALL)
    await _close(uow, batch, "recall")
    return batch


async def _close(uow: UnitOfWork, batch: VendorBatch, action: str) -> None:
    batch.returned_count = await store.return_unanswered(uow.session, batch.id)
    batch.closed_at = uow.now()
    batch.lease_token = None
    batch.lease_expires_at = None
    uow.log(
        entity="vendor_batch",
        entity_id=batch.id,
        action=action,
        municipality_code=batch.municipality_code,
        to_status=batch.state,
        data={"results": batch.results_count, "returned": batch.returned_count},
    )
