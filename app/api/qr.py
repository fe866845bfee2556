"""The QR code shown by the kiosk: it opens the ticket's status page on the resident's phone."""

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query, Request, Response

from app.api.deps import SettingsDep, UowDep
from app.api.lobby import OfficeParam, status_url
from app.services import tickets as ticket_service

router = APIRouter(tags=["lobby"])


def qr_svg(text: str) -> bytes:
    """A scalable SVG QR code (viewBox only, white quiet zone) of ``text``."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out,
        kind="svg",
        scale=8,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        omitsize=True,
        svgclass=None,
        lineclass=None,
        title="QR code / 呼出状況の確認",
    )
    return out.getvalue()


@router.get(
    "/tickets/{ticket_id}/qr.svg",
    response_class=Response,
    summary="QR code of the ticket's status page (SVG)",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {}, 429: {}},
)
async def ticket_qr(
    ticket_id: str,
    uow: UowDep,
    settings: SettingsDep,
    request: Request,
    key: Annotated[str, Query(max_length=64)],
    office_id: OfficeParam = None,
) -> Response:
    request.app.state.public_limiter.check(request)
    # The same key (and office) check as the resident's status endpoint: a wrong one is a 404.
    ticket = (
        await ticket_service.public_status(uow, ticket_id=ticket_id, key=key, office_id=office_id)
    ).ticket
    return Response(
        qr_svg(
            status_url(settings.public_base_url, ticket.office_id, ticket.id, ticket.public_key)
        ),
        media_type="image/svg+xml",
        # What a ticket's code says never changes; only its holder may cache it.
        headers={"Cache-Control": "private, max-age=86400"},
    )
