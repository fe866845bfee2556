"""Display frames written straight to the socket, past the ASGI send path.

Under uvicorn's websockets-sansio protocol (what ``madoguchi serve`` runs), an event is framed
once and the same bytes are written to every up-to-date display's transport, as
``websockets.broadcast`` does. Any other server, or a connection that negotiated an extension,
gets no direct writer and is served through the ordinary ``send_text``.
"""

import asyncio
import socket
from collections.abc import Callable, Mapping
from typing import Any

from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn without websockets
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

# Above this many unsent bytes a display is no longer written to directly: its own task takes
# over, waits for the socket to drain and closes it (1013) after the send timeout.
HIGH_WATER_BYTES = 64 * 1024

_MAX_WRAPPERS = 8


def encode_text_frame(text: str) -> bytes:
    """An unmasked, unfragmented, uncompressed text frame: the same bytes for every display."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def frame_text(frame: bytes) -> str:
    """The text carried by a frame from ``encode_text_frame``."""
    length = frame[1] & 0x7F
    offset = 2 if length < 126 else 4 if length == 126 else 10
    return frame[offset:].decode()


class DirectWriter:
    """Writes pre-encoded frames to one display's transport while it keeps up."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    def ready(self) -> bool:
        """Open, not closing, and draining: a frame written now goes out in order, whole."""
        protocol = self._protocol
        transport = self._transport
        return (
            not protocol.close_sent
            and not protocol.disconnected
            and protocol.writable.is_set()
            and protocol.conn.state is State.OPEN
            and not transport.is_closing()
            and transport.get_write_buffer_size() <= HIGH_WATER_BYTES
        )

    def write(self, frame: bytes) -> None:
        self._transport.write(frame)

    async def drained(self) -> None:
        """Until the socket is below its low-water mark again (at once if it is), or lost."""
        await self._protocol.writable.wait()

    def close_behind(self, code: int, reason: str, grace_s: float) -> None:
        """Queue a close frame behind what the display has not read yet, and cut the
        connection if it has still not read it all after ``grace_s``."""
        protocol = self._protocol
        transport = self._transport
        if transport.is_closing() or protocol.close_sent:
            return
        try:
            protocol.conn.send_close(code, reason)
        except InvalidState:
            return
        transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        # uvicorn's close timer: cancelled, and the connection closed, when the display answers
        # the close frame; otherwise the connection is cut when it fires. A display that reads
        # a byte a second must not keep its socket open for as long as it likes.
        timer = getattr(protocol, "close_timer", None)
        if timer is not None:
            timer.cancel()
        protocol.close_timer = asyncio.get_running_loop().call_later(grace_s, self._cut)

    def limit_kernel_buffer(self, size: int) -> None:
        """Cap the kernel's send buffer of this socket (Linux autotunes loopback and LAN
        sockets up to megabytes): a display that stops reading then holds at most about
        ``size`` bytes there, and is noticed as slow after that much instead of megabytes."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
            except OSError:
                pass

    def buffered(self) -> int:
        """Bytes written to the socket that the display has not read yet."""
        return int(self._transport.get_write_buffer_size())

    def abort(self) -> None:
        """Drop the connection at once, and whatever is still queued for it."""
        self._transport.abort()

    def _cut(self) -> None:
        self._protocol.close_timer = None
        if not self._transport.is_closing():
            self._transport.abort()


def direct_writer(send: Callable[..., Any], scope: Mapping[str, Any]) -> DirectWriter | None:
    """The direct writer behind an ASGI ``send``, or None when it is not uvicorn's sansio protocol.

    Middleware wraps ``send`` in closures; they are followed through their ``send`` variable.
    The protocol found must be the one serving ``scope``, and must not have negotiated an
    extension (a compressed connection needs its own frames).
    """
    if WebSocketsSansIOProtocol is None:
        return None
    protocol = _server_protocol(send)
    if protocol is None or getattr(protocol, "scope", None) is not scope:
        return None
    if protocol.conn.extensions or protocol.transport is None:
        return None
    return DirectWriter(protocol)


def denial_sent(send: Callable[..., Any], scope: Mapping[str, Any]) -> None:
    """After an HTTP answer sent in place of the upgrade (the denial response extension):
    uvicorn's sansio protocol does not count that answer as the end of the handshake, and
    logs an error ("returned without completing handshake") for every display turned away."""
    protocol = _server_protocol(send) if WebSocketsSansIOProtocol is not None else None
    if (
        protocol is not None
        and getattr(protocol, "scope", None) is scope
        and getattr(protocol, "initial_response", None) is not None
        and protocol.close_sent
    ):
        protocol.handshake_complete = True


def _server_protocol(send: Callable[..., Any]) -> Any:
    current: Any = send
    for _ in range(_MAX_WRAPPERS):
        owner = getattr(current, "__self__", None)
        if isinstance(owner, WebSocketsSansIOProtocol):
            return owner
        function = getattr(current, "__func__", current)
        code = getattr(function, "__code__", None)
        cells = getattr(function, "__closure__", None)
        if code is None or not cells:
            return None
        wrapped = dict(zip(code.co_freevars, cells, strict=True)).get("send")
        if wrapped is None:
            return None
        try:
            current = wrapped.cell_contents
        except ValueError:
            return None
    return None
