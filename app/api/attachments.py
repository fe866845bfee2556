"""Attachments (scans, identity documents): stored by SHA-256; applications refer to them."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel

from app.api.deps import Caller, SettingsDep, UowDep
from app.domain.errors import NotFound
from app.domain.roles import Role
from app.services import attachments
from app.services.access import record_access
from app.services.visibility import viewer_for

router = APIRouter(prefix="/attachments", tags=["intake"])
Uploader = Caller(Role.INTAKE, Role.COUNTER)
Viewer = Caller(Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR)
Sha256 = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")]


class StoredAttachment(BaseModel):
    sha256: str
    size: int


@router.post(
    "",
    response_model=StoredAttachment,
    status_code=201,
    summary="Upload a file (the raw body); refer to it by its SHA-256 in an application",
    responses={413: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload(request: Request, principal: Uploader, settings: SettingsDep) -> StoredAttachment:
    sha, size = await attachments.store(
        Path(settings.attachment_dir),
        principal.municipality_code,
        request.stream(),
        settings.max_body_bytes,
    )
    return StoredAttachment(sha256=sha, size=size)


@router.get(
    "/{sha256}",
    response_class=FileResponse,
    summary="Download an attachment (logged)",
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {}},
)
async def download(
    sha256: Sha256, uow: UowDep, principal: Viewer, settings: SettingsDep
) -> FileResponse:
    """Scans show whole forms, which no allow-list can cut: city staff only (DOMAIN.md §4.6)."""
    viewer = await viewer_for(uow, principal)
    if viewer.vendor_side:
        raise NotFound("添付ファイルが見つかりません (no such attachment)", sha256=sha256)
    path = attachments.locate(Path(settings.attachment_dir), principal.municipality_code, sha256)
    referring = await attachments.referring_applications(uow, principal.municipality_code, sha256)
    record_access(
        uow,
        principal,
        action="view",
        entity="attachment",
        entity_id=sha256,
        detail={"applications": referring},
    )
    return FileResponse(path, media_type="application/octet-stream")
