"""Sealing the central queue's open entry work into vendor batches, now or on the schedule."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.batches import (
    BatchState,
    carries_my_number,
    cp932_problems,
    my_number_paths,
    vendor_item,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import Clock
from app.domain.visibility import export_patterns
from app.exports.formats import ManifestBuilder, csv_columns, flatten, item_line
from app.services.batches.contracts import get_contract, terms_of
from app.settings import Settings
from app.storage import batches as store
from app.storage.db import Session, Sessionmaker
from app.storage.tables import VendorBatch, VendorContract
from app.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class SealReport:
    contract_id: str
    batches: list[VendorBatch] = field(default_factory=list)
    held_back: list[dict[str, Any]] = field(default_factory=list)


async def seal(uow: UnitOfWork, contract: VendorContract) -> SealReport:
    """Seal one batch per procedure of the contract from the central queue's open entry work.

    The contract row is locked first, so two processes (or the schedule and the CLI) never
    seal the same contract at once.
    """
    contract = await get_contract(uow, contract.municipality_code, contract.id, lock=True)
    report = SealReport(contract.id)
    if contract.is_active and "entry" in contract.steps:
        for code in contract.procedures:
            await _seal_procedure(uow, contract, code, report)
    contract.last_seal_at = uow.now()
    return report


async def _seal_procedure(
    uow: UnitOfWork, contract: VendorContract, code: str, report: SealReport
) -> None:
    procedure = load_catalogue().get(code)
    terms = terms_of(contract)
    allowed = export_patterns(procedure, terms)
    may_carry_numbers = bool(allowed & my_number_paths(procedure))
    chunk = uow.settings.vendor.chunk_rows
    check_cp932 = "cp932" in contract.encodings
    batch: VendorBatch | None = None
    seq, remaining, has_my_number = 0, contract.batch_size, False
    columns: set[str] = set()
    after: tuple[int, str] | None = None
    while remaining > 0:
        rows = await store.eligible_entries(
            uow.session,
            municipality_code=contract.municipality_code,
            contract_id=contract.id,
            procedure=code,
            after=after,
            limit=min(chunk, remaining),
        )
        if not rows:
            break
        after = (rows[-1][1], rows[-1][0])
        items: list[dict[str, Any]] = []
        holdbacks: list[dict[str, Any]] = []
        for task_id, _urgency, application_id, values, applicant, ocr, due_on in rows:
            item = vendor_item(
                item_id=task_id,
                procedure=procedure,
                terms=terms,
                values=values or {},
                applicant=applicant or {},
                ocr=ocr,
                due_on=due_on.isoformat() if due_on else None,
                allowed=allowed,
            )
            line = item_line(item)
            problems = cp932_problems(item, line) if check_cp932 else []
            if problems:
                holdbacks.append(
                    {
                        "contract_id": contract.id,
                        "task_id": task_id,
                        "application_id": application_id,
                        "municipality_code": contract.municipality_code,
                        "reason": "cp932",
                        "detail": problems,
                        "created_at": uow.now(),
                    }
                )
                report.held_back.append(
                    {
                        "task_id": task_id,
                        "application_id": application_id,
                        "procedure": code,
                        "problems": problems,
                    }
                )
                continue
            if batch is None:
                batch = _new_batch(uow, contract, code)
                await store.add_batch(uow.session, batch)
            seq += 1
            items.append(
                {
                    "batch_id": batch.id,
                    "seq": seq,
                    "municipality_code": contract.municipality_code,
                    "task_id": task_id,
                    "application_id": application_id,
                    "payload": line,
                }
            )
            columns.update(flatten(item))
            has_my_number = has_my_number or (
                may_carry_numbers and carries_my_number(procedure, item)
            )
        if batch is not None and items:
            await store.add_items(uow.session, items)
            moved = await store.move_to_batch(uow.session, batch.id, items[0]["seq"] - 1)
            assert moved == len(items), "eligible tasks are locked until the seal commits"
        await store.add_holdbacks(uow.session, holdbacks)
        remaining -= len(items)
    if batch is None:
        return
    batch.item_count = seq
    batch.has_my_number = has_my_number
    batch.columns = csv_columns(procedure, terms.applicant_keys, columns)
    batch.manifest = await _manifest(uow.session, batch, chunk)
    uow.log(
        entity="vendor_batch",
        entity_id=batch.id,
        action="seal",
        municipality_code=batch.municipality_code,
        to_status=BatchState.READY,
        data={
            "contract": contract.id,
            "procedure": code,
            "items": seq,
            "legal_basis": contract.legal_basis,
            "include_my_number": contract.include_my_number,
            "held_back": sum(1 for h in report.held_back if h["procedure"] == code),
        },
    )
    report.batches.append(batch)


def _new_batch(uow: UnitOfWork, contract: VendorContract, code: str) -> VendorBatch:
    return VendorBatch(
        municipality_code=contract.municipality_code,
        contract_id=contract.id,
        procedure=code,
        step="entry",
        state=BatchState.READY,
        field_allow_list=list(contract.field_allow_list),
        include_my_number=contract.include_my_number,
        legal_basis=contract.legal_basis if contract.include_my_number else None,
        encodings=list(contract.encodings),
        columns=[],
        manifest={},
        sealed_at=uow.now(),
    )


async def _manifest(session: Session, batch: VendorBatch, chunk: int) -> dict[str, Any]:
    """Checksums of every file the batch can be downloaded as, from the stored items."""
    builder = ManifestBuilder(batch.encodings, batch.columns)
    after = 0
    while rows := await store.payloads_after(session, batch.id, after, chunk):
        builder.add([payload for _seq, payload in rows])
        after = rows[-1][0]
    return builder.manifest()


def _due(contract: VendorContract, now: datetime) -> bool:
    since = contract.last_seal_at or contract.created_at
    return contract.is_active and since + timedelta(seconds=contract.seal_every_s) <= now


async def seal_due(sessionmaker: Sessionmaker, clock: Clock, settings: Settings) -> int:
    """Seal every contract whose schedule says so; the number of batches sealed."""
    async with sessionmaker() as session:
        candidates = [c for c in await store.list_contracts(session) if _due(c, clock.now())]
    sealed = 0
    for candidate in candidates:
        async with sessionmaker() as session:
            uow = UnitOfWork(session, clock=clock, settings=settings)
            contract = await get_contract(uow, candidate.municipality_code, candidate.id, lock=True)
            if not _due(contract, uow.now()):
                continue  # another process sealed it a moment ago
            sealed += len((await seal(uow, contract)).batches)
            await uow.commit()
    return sealed
