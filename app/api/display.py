"""The lobby channel over websocket (CONTRACT.md, Lobby): snapshot, then events in seq order."""

from typing import Annotated

from fastapi import APIRouter, Query, WebSocket

from app.api.deps import principal_for_token
from app.domain.errors import DomainError
from app.domain.roles import Principal, Role
from app.realtime.connection import DisplayConnection, DisplayOptions
from app.realtime.direct import direct_writer
from app.realtime.guard import CLOSE_UNAUTHORISED
from app.resources import Resources
from app.services.callers import office_exists, token_hash, unit_of_work
from app.settings import Settings

router = APIRouter(tags=["lobby"])

DISPLAY_ROLES = frozenset({Role.DISPLAY, Role.COUNTER})
CLOSE_NOT_FOUND = 4404


async def _authorise(
    resources: Resources, settings: Settings, token: str, office_id: str
) -> Principal | int:
    """The token's principal when it may watch the office, else the close code to send.

    A token and an office seen within the token cache's lifetime are checked from memory: a
    display reconnecting reads nothing from the database before its snapshot."""
    if token:
        known = resources.tokens.get(token_hash(token), resources.clock.now())
        if known is not None and resources.feed.office_known(office_id, known.municipality_code):
            if known.role not in DISPLAY_ROLES:
                return CLOSE_UNAUTHORISED
            return known if known.may_use_office(office_id) else CLOSE_NOT_FOUND
    # Reads only: a reconnecting room of displays never takes SQLite's write lock.
    async with (
        resources.feed.display_reads,
        unit_of_work(
            resources.sessionmaker, clock=resources.clock, settings=settings, reads_only=True
        ) as uow,
    ):
        try:
            principal = await principal_for_token(uow, token, resources.tokens)
        except DomainError:
            return CLOSE_UNAUTHORISED
        if principal.role not in DISPLAY_ROLES:
            return CLOSE_UNAUTHORISED
        known_office = await office_exists(uow, office_id, principal.municipality_code)
        if not known_office or not principal.may_use_office(office_id):
            return CLOSE_NOT_FOUND
    resources.feed.remember_office(office_id, principal.municipality_code)
    return principal


@router.websocket("/ws/offices/{office_id}/lobby")
async def lobby_feed(
    websocket: WebSocket, office_id: str, token: Annotated[str, Query(max_length=200)] = ""
) -> None:
    resources: Resources = websocket.app.state.resources
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    principal = await _authorise(resources, settings, token, office_id)
    if not isinstance(principal, Principal):
        reason = "unauthorised" if principal == CLOSE_UNAUTHORISED else "no such office"
        await websocket.close(principal, reason)
        return
    display = settings.display
    options = DisplayOptions(
        heartbeat_s=display.heartbeat_s,
        send_timeout_s=display.send_timeout_s,
        history_limit=display.history_events,
        replay_page=display.replay_page,
        max_message_bytes=display.max_message_bytes,
        messages_per_s=display.messages_per_s,
        message_burst=display.message_burst,
    )
    # Under uvicorn's sansio websockets the hub writes frames straight to this socket.
    direct = direct_writer(websocket._send, websocket.scope)
    if direct is not None and display.socket_send_buffer_bytes > 0:
        direct.limit_kernel_buffer(display.socket_send_buffer_bytes)
    await DisplayConnection(
        websocket, resources.hub, resources.feed, office_id, options, direct=direct
    ).run(token_id=principal.token_id)
