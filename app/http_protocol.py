"""uvicorn's HTTP/1.1 protocol with a deadline on the request head (slowloris).

uvicorn times out an idle keep-alive connection, but once a client has sent one byte it waits
for the rest of the request line and headers for ever: a client that sends a header byte every
few seconds holds a connection (and its memory) as long as it likes. Here the request line and
headers must be complete within ``header_timeout_s`` (the app's settings) of the connection being
opened, or of the first byte of a later request on a kept-alive connection; else the client gets
``408`` and the connection is closed. The body has its own deadline (app/api/edge.py).

``madoguchi serve`` and the tests' live servers run this protocol (``http=HttpProtocol``).
"""

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT_S = 10.0


def _header_timeout(app: Any) -> float:
    """The app's ``settings.header_timeout_s``, found through uvicorn's middleware wrappers."""
    node = app
    for _ in range(16):
        settings = getattr(getattr(node, "state", None), "settings", None)
        if settings is not None:
            return float(settings.header_timeout_s)
        node = getattr(node, "app", None)
        if node is None:
            break
    return DEFAULT_HEADER_TIMEOUT_S


def _timeout_response() -> bytes:
    body = json.dumps(
        {
            "type": "urn:madoguchi:problem:request_timeout",
            "title": "時間内に受信できませんでした / Request timeout",
            "status": 408,
            "detail": "リクエストヘッダーが時間内に届きませんでした "
            "(request headers not received in time)",
            "code": "request_timeout",
        },
        ensure_ascii=False,
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
        "x-content-type-options: nosniff\r\n\r\n"
    ).encode()
    return head + body


TIMEOUT_RESPONSE = _timeout_response()


class HttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request head must arrive within the app's ``header_timeout_s``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = _header_timeout(self.app)
        self._awaiting_head = True
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a client that connects and says nothing is timed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._awaiting_head = True
        self._arm()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle now: uvicorn's keep-alive timeout runs until the next request's first byte.
        self._awaiting_head = True

    def _arm(self) -> None:
        if self._head_timer is None and self.header_timeout_s > 0:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._awaiting_head or self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
