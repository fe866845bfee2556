"""The QR code shown by the kiosk: it opens the ticket's status page on the resident's phone."""

import io
from typing import Annotated
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Query, Response

from app.api.deps import SettingsDep, UowDep
from app.services import tickets as ticket_service

router = APIRouter(tags=["lobby"])


def qr_svg(text: str) -> bytes:
    """A scalable SVG QR code (viewBox only, white quiet zone) of ``text``."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False,
        omitsize=True, svgclass=None, lineclass=None, title="QR code / 呼出状況の確認",
    )
    return out.getvalue()


@router.get(
    "/tickets/{ticket_id}/qr.svg",
    response_class=Response,
    summary="QR code of the ticket's status page (SVG)",
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {}},
)
async def ticket_qr(
    ticket_id: str, uow: UowDep, settings: SettingsDep, key: Annotated[str, Query(max_length=64)]
) -> Response:
    # The same key check as the resident's status endpoint: a wrong key is a 404.
    ticket = (await ticket_service.public_status(uow, ticket_id=ticket_id, key=key)).ticket
    query = urlencode({"ticket": ticket.id, "key": ticket.public_key})
    return Response(
        qr_svg(f"{settings.public_base_url}/status/?{query}"),
        media_type="image/svg+xml",
        # What a ticket's code says never changes; only its holder may cache it.
        headers={"Cache-Control": "private, max-age=86400"},
    )
