"""Vendor batches: contracts' terms, sealing entry work, the vendor's lease, download, results, close.

DOMAIN.md §3.5 (what a vendor may do), §4.2 and §7.11 (My Numbers only under the contract, legal
basis recorded per batch), §4.6 and §7.13 (支援措置 persons never leave), §5.5 and §7.17 (CP932
pre-flight), §7.12 (every download and upload in the access log with its contract).
"""

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.applications import TaskKind, TaskStatus, editable
from app.domain.batches import (
    CLOSED,
    FORMATS,
    SEALED_STEPS,
    BatchAction,
    BatchState,
    ExportTerms,
    allow_list_problems,
    carries_my_number,
    cp932_problems,
    effective_state,
    lease_refusal,
    merge_result,
    my_number_paths,
    next_state,
    result_problems,
    vendor_item,
)
from app.domain.catalogue import load_catalogue
from app.domain.clock import Clock
from app.domain.errors import DomainError, InvalidInput, NotFound, StaleLease
from app.domain.roles import Employer, Principal, Role
from app.domain.shape import ShapeLimits, check_shape
from app.domain.text import NUL_MESSAGE, nul_locations
from app.domain.visibility import export_patterns, is_vendor_side
from app.exports.formats import CSV_CELLS, ManifestBuilder, Writer, csv_columns, flatten, item_line
from app.services import admin, vendor_contracts, work
from app.services.access import record_access
from app.services.admin import IssuedToken
from app.services.bulk import split_lines
from app.services.uow import UnitOfWork
from app.settings import Settings
from app.storage import batches as store
from app.storage import work as work_store
from app.storage.tables import ApiToken, Application, Task, VendorBatch, VendorContract

log = logging.getLogger(__name__)

RESULT_GROUP = 100  # result lines per transaction; each group's answers go out after its commit
HOUSEHOLD_HOLD = timedelta(seconds=60)


def terms_of(source: VendorContract | VendorBatch) -> ExportTerms:
    return ExportTerms(tuple(source.field_allow_list), source.include_my_number)


def state_of(batch: VendorBatch, now: datetime) -> BatchState:
    return effective_state(BatchState(batch.state), batch.lease_expires_at, now)


# ---- contracts ------------------------------------------------------------------------------


def _check_terms(terms: dict[str, Any]) -> None:
    """Refuse terms naming unknown procedures or fields, steps we do not seal, or My Numbers
    without a legal basis (DOMAIN.md §4.2)."""
    catalogue = load_catalogue()
    problems = [
        {
            "field": f"procedures[{i}]",
            "code": "unknown_procedure",
            "message": f"手続 {p} はありません (no such procedure)",
        }
        for i, p in enumerate(terms["procedures"])
        if catalogue.find(p) is None
    ] + [
        {
            "field": f"steps[{i}]",
            "code": "not_outsourceable",
            "message": f"{s} は委託バッチにできません (only entry is sealed into batches)",
        }
        for i, s in enumerate(terms["steps"])
        if s not in SEALED_STEPS
    ]
    known = [found for p in terms["procedures"] if (found := catalogue.find(p)) is not None]
    include_my_number = terms.get("include_my_number", False)
    problems += allow_list_problems(known, terms["field_allow_list"], include_my_number)
    if include_my_number and not terms.get("legal_basis"):
        problems.append(
            {
                "field": "legal_basis",
                "code": "required",
                "message": "個人番号を含めるには根拠が必要です (legal basis required for My Number)",
            }
        )
    if problems:
        raise InvalidInput("委託契約の内容に誤りがあります (invalid contract)", problems)


async def create_contract(uow: UnitOfWork, municipality_code: str, **terms: Any) -> VendorContract:
    """A contract whose allow-list names real fields; My Numbers only with a legal basis."""
    _check_terms(terms)
    return await vendor_contracts.create_contract(uow, municipality_code, **terms)


async def get_contract(
    uow: UnitOfWork, municipality_code: str, contract_id: str, *, lock: bool = False
) -> VendorContract:
    contract = await store.find_contract(uow.session, contract_id, municipality_code, lock=lock)
    if contract is None:
        raise NotFound("委託契約が見つかりません (no such vendor contract)", contract_id=contract_id)
    return contract


async def list_contracts(uow: UnitOfWork, municipality_code: str | None) -> list[VendorContract]:
    return await store.list_contracts(uow.session, municipality_code)


async def held_back(uow: UnitOfWork, contract: VendorContract, limit: int) -> list[dict[str, Any]]:
    """Work this contract could not carry (CP932) that still waits for internal keying."""
    return [
        {"task_id": h.task_id, "application_id": h.application_id, "problems": h.detail}
        for h in await store.list_holdbacks(uow.session, contract.id, limit)
    ]


async def update_contract(
    uow: UnitOfWork, municipality_code: str, contract_id: str, **changes: Any
) -> VendorContract:
    """Change a contract's terms; batches already sealed keep the terms they were sealed under."""
    contract = await get_contract(uow, municipality_code, contract_id, lock=True)
    checked = ("procedures", "steps", "field_allow_list", "include_my_number", "legal_basis")
    if set(changes) & set(checked):  # a change of schedule or size alone is never refused
        _check_terms({k: changes.get(k, getattr(contract, k)) for k in checked})
    for key, value in changes.items():
        setattr(contract, key, value)
    uow.log(
        entity="vendor_contract",
        entity_id=contract.id,
        action="update",
        municipality_code=municipality_code,
        data={k: v for k, v in changes.items() if k != "legal_basis"},
    )
    return contract


async def issue_token(
    uow: UnitOfWork, contract: VendorContract, *, name: str, expires_at: datetime | None = None
) -> IssuedToken:
    """A token for the vendor's system, bound to this one contract."""
    issued = await admin.create_token(
        uow, contract.municipality_code, role=Role.VENDOR, name=name, expires_at=expires_at
    )
    await bind_token(uow, issued.token, contract.id)
    return issued


async def bind_token(uow: UnitOfWork, token: ApiToken, contract_id: str) -> None:
    """Bind a vendor-side token (the vendor's system, its manager or operators) to a contract
    of its own municipality; city staff carry none. A vendor-employed person sees nothing
    without one."""
    holder = Principal(
        token_id=token.id, municipality_code=token.municipality_code, role=Role(token.role),
        name=token.name, employer=Employer(token.employer) if token.employer else None,
    )
    if not is_vendor_side(holder):
        raise InvalidInput.field(
            "contract",
            "not_a_vendor_token",
            "契約に結び付けられるのは委託先のトークンだけです (vendor-side tokens only)",
        )
    contract = await get_contract(uow, token.municipality_code, contract_id)
    token.contract_id = contract.id
    uow.log(
        entity="api_token",
        entity_id=token.id,
        action="bind_contract",
        municipality_code=token.municipality_code,
        data={"contract": contract.id},
    )


# ---- sealing --------------------------------------------------------------------------------


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


async def _seal_procedure(uow: UnitOfWork, contract: VendorContract, code: str, report: SealReport) -> None:
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
                uow.session.add(batch)
                await uow.session.flush()
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
            has_my_number = has_my_number or (may_carry_numbers and carries_my_number(procedure, item))
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


async def _manifest(session: AsyncSession, batch: VendorBatch, chunk: int) -> dict[str, Any]:
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


async def seal_due(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings) -> int:
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


async def run_schedule(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """The periodic sealing loop of the app's lifespan."""
    while True:
        await asyncio.sleep(settings.vendor.schedule_tick_s)
        try:
            await seal_due(sessionmaker, clock, settings)
        except Exception:
            log.warning("scheduled sealing failed", exc_info=True)


# ---- the vendor's side ----------------------------------------------------------------------


async def vendor_contract(uow: UnitOfWork, principal: Principal) -> VendorContract | None:
    """The active contract the vendor's token is bound to; None sees nothing."""
    contract_id = await store.token_contract(uow.session, principal.token_id)
    if contract_id is None:
        return None
    contract = await store.find_contract(uow.session, contract_id, principal.municipality_code)
    return contract if contract is not None and contract.is_active else None


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


def _held(batch: VendorBatch, presented: str | None, action: BatchAction, now: datetime) -> BatchState:
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


async def lease(uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None) -> VendorBatch:
    """Lease a ready batch (a fresh token), or renew the lease when the holder's token comes along."""
    batch = await vendor_batch(uow, principal, batch_id, lock=True)
    contract = await get_contract(uow, batch.municipality_code, batch.contract_id)
    now = uow.now()
    if presented:
        batch.state = _held(batch, presented, BatchAction.RENEW, now)
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
    uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None, *, fmt: str, encoding: str
) -> Download:
    """The whole file asked for, once the lease and the contract's encodings say yes."""
    batch = await vendor_batch(uow, principal, batch_id)
    _held(batch, presented, BatchAction.DOWNLOAD, uow.now())
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
    sessionmaker: async_sessionmaker[AsyncSession], download: Download, chunk: int
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
    batch.state = _held(batch, presented, BatchAction.ACKNOWLEDGE, uow.now())
    await _close(uow, batch, "acknowledge")
    return batch


async def recall(uow: UnitOfWork, principal: Principal, batch_id: str) -> VendorBatch:
    """City staff take a batch back (abandoned, lease run out, contract ended); its holder is fenced."""
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


# ---- results --------------------------------------------------------------------------------


async def check_results_allowed(
    uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None
) -> None:
    """Before the upload streams: the batch is the caller's and the lease is held (else 404/409)."""
    batch = await vendor_batch(uow, principal, batch_id)
    _held(batch, presented, BatchAction.SUBMIT_RESULTS, uow.now())


async def result_lines(
    chunks: AsyncIterator[bytes],
    principal: Principal,
    *,
    batch_id: str,
    presented: str | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
) -> AsyncIterator[bytes]:
    """NDJSON ``{item, values}`` in, one NDJSON answer per line out, in constant memory."""
    group: list[tuple[int, bytes | None]] = []
    async for number, raw in split_lines(chunks, settings.max_bulk_line_bytes):
        group.append((number, raw))
        if len(group) >= RESULT_GROUP:
            for line in await _store_results(
                group, principal, batch_id, presented, sessionmaker, clock, settings
            ):
                yield line
            group = []
    if group:
        for line in await _store_results(
            group, principal, batch_id, presented, sessionmaker, clock, settings
        ):
            yield line


def _parse(raw: bytes | None, limits: ShapeLimits) -> tuple[str, dict[str, Any]] | dict[str, Any]:
    if raw is None:
        return _answer("rejected", "line", "line_too_long", "1行が長すぎます (line too long)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _answer("rejected", "line", "invalid_json", "JSON として読めません (not JSON)")
    if problems := check_shape(data, limits):  # the limits every JSON body and bulk line has
        return {"status": "rejected", "errors": problems}
    if not isinstance(data, dict) or not isinstance(data.get("item"), str) or "values" not in data:
        return _answer(
            "rejected",
            "line",
            "invalid",
            "{item, values} の形で送ってください (send {item, values})",
        )
    for loc in nul_locations(data):  # PostgreSQL cannot store U+0000
        return _answer("rejected", ".".join(map(str, loc)), "nul_character", NUL_MESSAGE)
    return data["item"], data["values"]


def _answer(status: str, field: str, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "errors": [{"field": field, "code": code, "message": message}]}


async def _store_results(
    group: Sequence[tuple[int, bytes | None]],
    principal: Principal,
    batch_id: str,
    presented: str | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
) -> list[bytes]:
    answers: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        uow = UnitOfWork(session, clock=clock, settings=settings)
        uow.principal = principal
        try:
            batch = await vendor_batch(uow, principal, batch_id, lock=True)
            _held(batch, presented, BatchAction.SUBMIT_RESULTS, uow.now())
        except DomainError as error:  # the lease ran out, was taken over or the batch recalled
            return [
                _line({"line": n, **_answer("refused", "lease", error.code, error.message)}) for n, _ in group
            ]
        vendor = Principal(
            token_id=principal.token_id,
            municipality_code=principal.municipality_code,
            role=Role.OPERATOR,
            name=principal.name,
            employer=Employer.VENDOR,
        )
        procedure = load_catalogue().get(batch.procedure)
        allowed = export_patterns(procedure, terms_of(batch))
        counts: dict[str, int] = {}
        limits = settings.json_shape.limits()
        for number, raw in group:
            parsed = _parse(raw, limits)
            if isinstance(parsed, dict):
                answers.append({"line": number, **parsed})
                continue
            item_id, values = parsed
            try:
                async with uow.savepoint():
                    answer = await _take(uow, vendor, batch, procedure, allowed, item_id, values)
            except DomainError as error:
                answer = {
                    "status": "rejected",
                    "errors": getattr(error, "errors", None)
                    or [{"field": "item", "code": error.code, "message": error.message}],
                }
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
            answers.append({"line": number, "item": item_id, **answer})
        batch.results_count += counts.get("accepted", 0)
        record_access(
            uow,
            principal,
            action="vendor_upload",
            entity="vendor_batch",
            entity_id=batch.id,
            detail={
                "contract": batch.contract_id,
                "legal_basis": batch.legal_basis,
                "lines": [group[0][0], group[-1][0]],
                **counts,
            },
        )
        await uow.commit()
    return [_line(a) for a in answers]


def _line(answer: dict[str, Any]) -> bytes:
    return orjson.dumps(answer) + b"\n"


async def _take(
    uow: UnitOfWork,
    vendor: Principal,
    batch: VendorBatch,
    procedure: Any,
    allowed: frozenset[str],
    item_id: str,
    values: Any,
) -> dict[str, Any]:
    """One keyed item: idempotent by content, then the same entry submission an operator makes."""
    session = uow.session
    item = await store.find_item(session, batch.id, item_id)
    if item is None:
        return _answer("rejected", "item", "unknown_item", "このバッチにない項目です (not in this batch)")
    digest = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if item.result_sha256 is not None:
        if item.result_sha256 == digest:
            return {"status": "duplicate", **(item.result or {})}
        return _answer(
            "conflict",
            "values",
            "result_differs",
            "この項目には別の結果を受け付け済みです (another result was accepted for this item)",
        )
    problems = result_problems(procedure, allowed, values)
    if problems:
        return {"status": "rejected", "errors": problems}
    task = await work_store.lock_task(session, item.task_id, batch.municipality_code)
    if (
        task is None
        or task.status != TaskStatus.OPEN
        or task.batch_id != batch.id
        or task.queue != store.BATCH_QUEUE
    ):
        return _answer(
            "withdrawn",
            "item",
            "withdrawn",
            "この項目は市に戻されました (the city took this item back)",
        )
    now = uow.now()
    if not await work_store.take_household(
        session,
        municipality_code=task.municipality_code,
        household_key=task.household_key,
        holder_id=vendor.person_id,
        now=now,
        expires_at=now + HOUSEHOLD_HOLD,
    ):
        # One editor per household (住基 j1380): city staff are working on it; send it again later.
        return _answer(
            "busy",
            "item",
            "household_locked",
            "世帯を編集中です。後で再送してください (retry later)",
        )
    application = await session.get(Application, task.application_id, with_for_update=True)
    assert application is not None
    form = merge_result(procedure, editable(procedure, application.values), values)
    # A batch result is what the vendor keyed from the paper: it is stored with its problems (the
    # history says so) and an error among them keeps the application from approval.
    application = await work.finish_task(uow, vendor, task, values=form, decision=None, reason=None,
                                         submit_with_problems=True)
    # Nobody can say which vendor person keyed it, so the second keying is for city staff.
    await session.execute(
        update(Task)
        .where(
            Task.application_id == application.id,
            Task.status == TaskStatus.OPEN,
            Task.kind.in_([TaskKind.VERIFY, TaskKind.SETTLE]),
        )  # type: ignore[attr-defined]
        .values(city_only=True)
    )
    item.result_sha256 = digest
    item.result = {
        "application_status": application.status,
        "outcome": (task.result or {}).get("outcome"),
    }
    item.result_at = now
    return {"status": "accepted", **item.result}
