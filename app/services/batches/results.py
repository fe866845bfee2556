"""The vendor's keyed results: NDJSON lines in, one answer per line out, in small transactions."""

import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import orjson

from app.domain.applications import TaskStatus, editable
from app.domain.batches import BatchAction, merge_result, result_problems
from app.domain.catalogue import load_catalogue
from app.domain.clock import Clock
from app.domain.errors import DomainError
from app.domain.roles import Employer, Principal, Role
from app.domain.shape import ShapeLimits, check_shape
from app.domain.text import NUL_MESSAGE, nul_locations
from app.domain.visibility import export_patterns
from app.services.access import record_access
from app.services.batches.contracts import terms_of
from app.services.batches.delivery import held_state, vendor_batch
from app.services.bulk import split_lines
from app.services.keying import finish_task
from app.settings import Settings
from app.storage import batches as store
from app.storage import work as work_store
from app.storage.db import Sessionmaker
from app.storage.tables import VendorBatch
from app.storage.uow import UnitOfWork

RESULT_GROUP = 100  # result lines per transaction; each group's answers go out after its commit
HOUSEHOLD_HOLD = timedelta(seconds=60)


async def check_results_allowed(
    uow: UnitOfWork, principal: Principal, batch_id: str, presented: str | None
) -> None:
    """Before the upload streams: the batch is the caller's and the lease is held (else 404/409)."""
    batch = await vendor_batch(uow, principal, batch_id)
    held_state(batch, presented, BatchAction.SUBMIT_RESULTS, uow.now())


async def result_lines(
    chunks: AsyncIterator[bytes],
    principal: Principal,
    *,
    batch_id: str,
    presented: str | None,
    sessionmaker: Sessionmaker,
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
    sessionmaker: Sessionmaker,
    clock: Clock,
    settings: Settings,
) -> list[bytes]:
    answers: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        uow = UnitOfWork(session, clock=clock, settings=settings)
        uow.principal = principal
        try:
            batch = await vendor_batch(uow, principal, batch_id, lock=True)
            held_state(batch, presented, BatchAction.SUBMIT_RESULTS, uow.now())
        except DomainError as error:  # the lease ran out, was taken over or the batch recalled
            return [
                _line({"line": n, **_answer("refused", "lease", error.code, error.message)})
                for n, _ in group
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
        return _answer(
            "rejected", "item", "unknown_item", "このバッチにない項目です (not in this batch)"
        )
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
    application = await work_store.lock_application(session, task.application_id)
    form = merge_result(procedure, editable(procedure, application.values), values)
    # A batch result is what the vendor keyed from the paper: it is stored with its problems (the
    # history says so) and an error among them keeps the application from approval.
    application = await finish_task(
        uow, vendor, task, values=form, decision=None, reason=None, submit_with_problems=True
    )
    # Nobody can say which vendor person keyed it, so the second keying is for city staff.
    await store.verification_to_city(session, application.id)
    item.result_sha256 = digest
    item.result = {
        "application_status": application.status,
        "outcome": (task.result or {}).get("outcome"),
    }
    item.result_at = now
    return {"status": "accepted", **item.result}
