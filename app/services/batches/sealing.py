"""Sealing the central queue's open entry work into vendor batches, now or on the schedule."""

import asyncio
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
from app.domain.catalogue import Procedure, load_catalogue
from app.domain.clock import Clock
from app.domain.visibility import export_patterns
from app.exports.formats import (
    FileDigests,
    csv_columns,
    csv_rows,
    flatten,
    item_line,
    manifest_of,
    render,
)
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
    files = _Files(contract.encodings, procedure, terms.applicant_keys)
    # The previous chunk's items being stored while this one is built, and the next chunk being
    # read while this one's checksums are taken (one connection: a statement at a time, each
    # awaited before the next is sent). Nothing else uses the session meanwhile.
    writing: asyncio.Future[int] | None = None
    reading: asyncio.Future[list[store.Entry]] | None = None
    expected = 0

    async def stored() -> None:
        nonlocal writing
        if writing is not None:
            moved, writing = await writing, None
            assert moved == expected, "eligible tasks are locked until the seal commits"

    async def eligible(after: tuple[int, str] | None) -> list[store.Entry]:
        return await store.eligible_entries(
            uow.session,
            municipality_code=contract.municipality_code,
            contract_id=contract.id,
            procedure=code,
            after=after,
            limit=min(chunk, remaining),
        )

    try:
        rows = await eligible(None)
        while rows:
            items: list[dict[str, Any]] = []
            lines: list[str] = []
            flat_rows: list[dict[str, str]] = []
            locators: list[str | None] = []
            holdbacks: list[dict[str, Any]] = []
            for task_id, _urgency, application_id, values, applicant, ocr, due_on, at in rows:
                item = vendor_item(
                    item_id=task_id,
                    procedure=procedure,
                    terms=terms,
                    values=store.json_document(values) or {},
                    applicant=store.json_document(applicant) or {},
                    ocr=store.json_document(ocr),
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
                if batch is None:  # nothing is being written before the batch exists
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
                locators.append(at)
                lines.append(line)
                # The CSV row every download writes from the frozen line (``flatten``: the same).
                flat_rows.append(flat := flatten(item))
                columns.update(flat)
                has_my_number = has_my_number or (
                    may_carry_numbers and carries_my_number(procedure, item)
                )
            await stored()
            await store.add_holdbacks(uow.session, holdbacks)
            remaining -= len(items)
            after = (rows[-1][1], rows[-1][0])
            if remaining > 0:  # the next chunk is read while this one's checksums are taken
                reading = asyncio.ensure_future(eligible(after))
                await asyncio.sleep(0)
            if items:
                files.add(lines, flat_rows, columns)
            rows, reading = (await reading if reading is not None else []), None
            if batch is not None and items:
                writing, expected = (
                    asyncio.ensure_future(store.freeze(uow.session, items, locators)),
                    len(items),
                )
                await asyncio.sleep(0)  # the statement goes out; it runs while Python works
        await stored()
    except BaseException:
        # Never leave the connection inside a statement.
        await asyncio.gather(*(f for f in (writing, reading) if f), return_exceptions=True)
        raise
    if batch is None:
        return
    batch.item_count = seq
    batch.has_my_number = has_my_number
    batch.columns = csv_columns(procedure, terms.applicant_keys, columns)
    batch.manifest = await files.manifest(uow.session, batch, chunk)
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


class _Files:
    """The manifest's checksums, fed while the items are frozen, in sealing order.

    JSON Lines from each chunk's lines as they are stored. CSV needs the batch's columns, known
    only at the end: it is written with the columns of the first chunk as long as no later item
    brings a new one (then they are the batch's columns, and the CSV file is known at the end
    too); otherwise it is written again from the stored items with the batch's columns.
    Either way the checksum is of ``render()``'s bytes of the frozen lines: what is sent.
    """

    def __init__(
        self, encodings: list[str], procedure: Procedure, applicant_keys: tuple[str, ...]
    ) -> None:
        self.procedure, self.applicant_keys = procedure, applicant_keys
        self.jsonl = FileDigests("jsonl", encodings, [])
        self.csv: FileDigests | None = None
        self.columns: list[str] = []
        self.seen = 0  # how many columns the first chunk had
        self.early = True  # no later item has brought a new column so far

    def add(self, lines: list[str], rows: list[dict[str, str]], seen: set[str]) -> None:
        self.jsonl.add_text(render("jsonl", [], lines))
        if not self.early:
            return
        if self.csv is None:
            self.columns = csv_columns(self.procedure, self.applicant_keys, seen)
            self.csv, self.seen = FileDigests("csv", self.jsonl.encodings, self.columns), len(seen)
        elif len(seen) != self.seen:
            self.early, self.csv = False, None
            return
        self.csv.add_text(csv_rows(self.columns, rows))

    async def manifest(self, session: Session, batch: VendorBatch, chunk: int) -> dict[str, Any]:
        if self.csv is None or self.columns != batch.columns:
            self.csv = FileDigests("csv", batch.encodings, batch.columns)
            for after in range(0, batch.item_count, chunk):
                rows = await store.payloads_after(session, batch.id, after, chunk)
                self.csv.add_text(render("csv", batch.columns, [p for _seq, p in rows]))
        return manifest_of(self.jsonl, self.csv)


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
