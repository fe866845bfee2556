"""The outsourcing vendor's pull API, and the city's side of it: contracts, sealing, recall.

Calls on a leased batch carry the lease in a ``Lease-Token`` header (CONTRACT.md, Outsourcing
vendor). Another municipality's or another contract's batch answers 404.
"""

import base64
import dataclasses
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.applications import RequestBodyStream
from app.api.deps import Caller, ResourcesDep, SettingsDep, UowDep
from app.api.errors import problem
from app.domain.batches import FORMATS, BatchState
from app.domain.errors import InvalidInput
from app.domain.roles import Role
from app.exports.formats import CHARSETS, MEDIA_TYPES
from app.services import batches
from app.services.records import VendorBatchRecord

router = APIRouter()
Vendor = Caller(Role.VENDOR)
LeaseToken = Annotated[str | None, Header(alias="Lease-Token", max_length=64)]
Encoding = Literal["utf-8", "utf-8-sig", "cp932"]
StateFilter = Literal["ready", "leased", "acknowledged", "recalled", "all"]


# ---- bodies ---------------------------------------------------------------------------------


class FileOut(BaseModel):
    format: str
    encoding: str
    sha256: str
    bytes: int
    href: str


class BatchOut(BaseModel):
    id: str
    contract_id: str
    procedure: str
    step: str
    state: str
    item_count: int
    sealed_at: datetime
    lease_expires_at: datetime | None
    results_count: int
    returned_count: int
    closed_at: datetime | None
    includes_my_number: bool
    files: list[FileOut]


class BatchPage(BaseModel):
    items: list[BatchOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class Manifest(BaseModel):
    batch: str
    procedure: str
    item_count: int
    sealed_at: datetime
    columns: list[str] = Field(description="The CSV header")
    files: list[FileOut] = Field(description="SHA-256 and size of each format and encoding")
    includes_my_number: bool
    legal_basis: str | None


class LeaseOut(BaseModel):
    batch: str
    lease_token: str
    lease_expires_at: datetime
    manifest: Manifest


class ClosedOut(BaseModel):
    batch: str
    state: str
    results_count: int
    returned_count: int = Field(description="Items without a result, back in the internal queue")


def files_of(batch: VendorBatchRecord) -> list[FileOut]:
    return [
        FileOut(
            format=fmt,
            encoding=encoding,
            sha256=info["sha256"],
            bytes=info["bytes"],
            href=f"/api/v1/vendor/batches/{batch.id}/items?format={fmt}&encoding={encoding}",
        )
        for fmt in FORMATS
        for encoding, info in (batch.manifest.get(fmt) or {}).items()
    ]


def batch_out(batch: VendorBatchRecord, now: datetime) -> BatchOut:
    state = batches.state_of(batch, now)
    return BatchOut(
        id=batch.id,
        contract_id=batch.contract_id,
        procedure=batch.procedure,
        step=batch.step,
        state=state,
        item_count=batch.item_count,
        sealed_at=batch.sealed_at,
        lease_expires_at=batch.lease_expires_at if state is BatchState.LEASED else None,
        results_count=batch.results_count,
        returned_count=batch.returned_count,
        closed_at=batch.closed_at,
        includes_my_number=batch.has_my_number,
        files=files_of(batch),
    )


def _cursor(batch: VendorBatchRecord) -> str:
    return base64.urlsafe_b64encode(
        f"batch:{batch.sealed_at.isoformat()}|{batch.id}".encode()
    ).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        sealed_at, _, batch_id = value.partition("|")
        if kind == "batch" and batch_id.isascii() and batch_id.isalnum():  # ids are hex
            return datetime.fromisoformat(sealed_at), batch_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput.field("cursor", "invalid_cursor", "カーソルが不正です (invalid cursor)")


# One line of the answer to POST /vendor/batches/{batch_id}/results.
RESULT_LINE = {
    "type": "object",
    "required": ["line", "status"],
    "properties": {
        "line": {"type": "integer", "description": "1-based line number of the upload"},
        "item": {"type": "string"},
        "status": {
            "enum": [
                "accepted",
                "duplicate",
                "rejected",
                "refused",
                "conflict",
                "withdrawn",
                "busy",
            ],
            "description": "busy: city staff hold the household, send the line again later",
        },
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
    },
}


def _states(state: StateFilter) -> list[BatchState] | None:
    return None if state == "all" else [BatchState(state)]


async def batch_page(
    uow: Any,
    municipality_code: str,
    contract_id: str | None,
    state: StateFilter,
    cursor: str | None,
    limit: int,
) -> BatchPage:
    rows = await batches.list_batches(
        uow,
        municipality_code,
        contract_id=contract_id,
        states=_states(state),
        after=_after(cursor),
        limit=limit + 1,
    )
    page = rows[:limit]
    return BatchPage(
        items=[batch_out(b, uow.now()) for b in page],
        next_cursor=_cursor(page[-1]) if len(rows) > limit else None,
    )


# ---- the vendor -----------------------------------------------------------------------------


@router.get(
    "/vendor/batches",
    response_model=BatchPage,
    tags=["vendor"],
    summary="Batches sealed for this vendor's contract (a run-out lease counts as ready)",
)
async def list_vendor_batches(
    uow: UowDep,
    principal: Vendor,
    state: StateFilter = "ready",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BatchPage:
    contract = await batches.vendor_contract(uow, principal)
    if contract is None:  # a vendor token bound to no contract sees nothing
        return BatchPage(items=[], next_cursor=None)
    return await batch_page(uow, principal.municipality_code, contract.id, state, cursor, limit)


@router.post(
    "/vendor/batches/{batch_id}/lease",
    response_model=LeaseOut,
    tags=["vendor"],
    summary="Lease a ready batch; with the holder's Lease-Token, renew the lease",
    responses={404: {}, 409: {}},
)
async def lease_batch(
    batch_id: str, uow: UowDep, principal: Vendor, lease_token: LeaseToken = None
) -> LeaseOut:
    batch = await batches.lease(uow, principal, batch_id, lease_token)
    assert batch.lease_token is not None and batch.lease_expires_at is not None
    return LeaseOut(
        batch=batch.id,
        lease_token=batch.lease_token,
        lease_expires_at=batch.lease_expires_at,
        manifest=Manifest(
            batch=batch.id,
            procedure=batch.procedure,
            item_count=batch.item_count,
            sealed_at=batch.sealed_at,
            columns=batch.columns,
            files=files_of(batch),
            includes_my_number=batch.has_my_number,
            legal_basis=batch.legal_basis,
        ),
    )


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(
    header: str | None, if_range: str | None, etag: str, size: int
) -> tuple[int, int] | None:
    """The single byte range asked for (inclusive); None for the whole file; ValueError if
    unsatisfiable."""
    if not header or (if_range is not None and if_range != etag):
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None  # several ranges or a malformed one: the whole file (RFC 9110 §14.2)
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError("unsatisfiable")
    return start, end


@router.get(
    "/vendor/batches/{batch_id}/items",
    tags=["vendor"],
    summary="The batch as a file, streamed; only the fields the contract allows",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        206: {
            "description": "The byte range asked for (Range)",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        },
        404: {},
        409: {},
        416: {},
        422: {},
    },
)
async def download_items(
    batch_id: str,
    uow: UowDep,
    principal: Vendor,
    resources: ResourcesDep,
    settings: SettingsDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",  # noqa: A002 - the contract's name
    encoding: Annotated[Encoding, Query()] = "utf-8",
    lease_token: LeaseToken = None,
    range_: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    if_range: Annotated[str | None, Header(alias="If-Range", max_length=200)] = None,
) -> Response:
    plan = await batches.open_download(
        uow, principal, batch_id, lease_token, fmt=format, encoding=encoding
    )
    etag = f'"{plan.sha256}"'
    try:
        wanted = byte_range(range_, if_range, etag, plan.size)
    except ValueError:
        return problem(
            416,
            "range_not_satisfiable",
            "範囲がファイルの外です (range not satisfiable)",
            headers={"Content-Range": f"bytes */{plan.size}"},
        )
    if wanted is not None:
        plan = dataclasses.replace(plan, first=wanted[0], last=wanted[1])
    batches.record_download(uow, principal, plan)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(plan.sha256)).decode()}:",
        "Content-Length": str(plan.last - plan.first + 1),
        "Content-Disposition": f'attachment; filename="batch-{plan.batch_id}-{encoding}.{format}"',
        "Cache-Control": "no-store",
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {plan.first}-{plan.last}/{plan.size}"
    return StreamingResponse(
        batches.stream(resources.sessionmaker, plan, settings.vendor.chunk_rows),
        status_code=206 if wanted is not None else 200,
        headers=headers,
        media_type=f"{MEDIA_TYPES[format]}; charset={CHARSETS[encoding]}",
    )


@router.post(
    "/vendor/batches/{batch_id}/results",
    tags=["vendor"],
    summary="NDJSON {item, values} in, one NDJSON answer per line out; idempotent per item",
    response_class=RequestBodyStream,
    responses={
        200: {"content": {"application/x-ndjson": {"schema": RESULT_LINE}}},
        404: {},
        409: {},
        422: {},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {
                        "type": "object",
                        "required": ["item", "values"],
                        "properties": {
                            "item": {
                                "type": "string",
                                "description": "The item's id from the batch file",
                            },
                            "values": {
                                "type": "object",
                                "description": "Keyed values of the allowed fields",
                            },
                        },
                    }
                }
            },
        }
    },
)
async def submit_results(
    batch_id: str,
    request: Request,
    uow: UowDep,
    principal: Vendor,
    resources: ResourcesDep,
    settings: SettingsDep,
    lease_token: LeaseToken = None,
) -> RequestBodyStream:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in ("application/x-ndjson", "application/jsonl", ""):
        raise InvalidInput.field(
            "content-type",
            "unsupported_media_type",
            "NDJSON (application/x-ndjson) を送ってください (send NDJSON)",
        )
    await batches.check_results_allowed(uow, principal, batch_id, lease_token)
    lines = batches.result_lines(
        request.stream(),
        principal,
        batch_id=batch_id,
        presented=lease_token,
        sessionmaker=resources.sessionmaker,
        clock=resources.clock,
        settings=settings,
    )
    return RequestBodyStream(lines, media_type="application/x-ndjson")


@router.post(
    "/vendor/batches/{batch_id}/ack",
    response_model=ClosedOut,
    tags=["vendor"],
    summary="Close the delivery; items without a result go back to the city's queue",
    responses={404: {}, 409: {}},
)
async def acknowledge_batch(
    batch_id: str, uow: UowDep, principal: Vendor, lease_token: LeaseToken = None
) -> ClosedOut:
    batch = await batches.acknowledge(uow, principal, batch_id, lease_token)
    return ClosedOut(
        batch=batch.id,
        state=batch.state,
        results_count=batch.results_count,
        returned_count=batch.returned_count,
    )


# ---- the city -------------------------------------------------------------------------------
