"""The HTTP edge: response headers every answer carries, body read deadlines, and a rate limit for
the anonymous pages. Pure ASGI middleware (no BaseHTTPMiddleware: streams stay streams).

Headers (README, Reliability):

* every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` (a status link carries its ticket's key in the query) and a
  Content-Security-Policy with ``frame-ancestors 'none'``;
* ``/api/v1`` responses: ``Cache-Control: no-store`` unless the route chose its own (only the
  anonymous QR code does); personal data never rests in a browser or proxy cache;
* pages: a CSP allowing only this origin (scripts, styles, images, websockets);
* ``/docs`` and ``/redoc``: the same plus the hashes of their inline scripts (computed from the
  page as it is sent), inline styles and blob: workers (ReDoc's search); their files are served
  here (app/api/docs.py), nothing comes from another host.
"""

import asyncio
import base64
import hashlib
import json
import re
import time
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.ratelimit import RateLimiter

API_PREFIX = "/api/"
DOCS_PATHS = ("/docs", "/redoc")
# Anonymous routes outside the API (pages, documentation, health) share one per-address limiter.
UNLIMITED_PREFIXES = (API_PREFIX,)

API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)

COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def docs_csp(html: bytes) -> str:
    """The documentation pages' CSP: their inline scripts by hash, nothing else inline."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return _DOCS_CSP.format(hashes=hashes)


def _without(headers: Iterable[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


class EdgeHeaders:
    """The security and caching headers of every HTTP response (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return
        is_api = path.startswith(API_PREFIX)
        csp = (API_CSP if is_api else PAGE_CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _without(
                    message.get("headers", []),
                    b"content-security-policy",
                    *(name for name, _ in COMMON_HEADERS),
                )
                headers += [*COMMON_HEADERS, (b"content-security-policy", csp)]
                if is_api and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        body = bytearray()

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = _without(
                start.get("headers", []), b"content-length", b"content-security-policy"
            )
            headers += [
                *COMMON_HEADERS,
                (b"content-security-policy", docs_csp(bytes(body)).encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, buffered)


class _BodyTimeout(HTTPException):
    # An HTTPException, so FastAPI's body parsing lets it through to the problem+json handler.
    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            "本文の受信が時間内に終わりませんでした "
            f"(request body not received within {seconds:g} s)",
            headers={"Connection": "close"},
        )


class BodyReadTimeout:
    """A request body must arrive within ``timeout_s`` of its headers: a client that trickles it
    (slowloris on the body) gets 408 and its connection is closed. A route that has already
    started its answer (bulk intake streams a result per line) is told the client went away
    (``http.disconnect``), as if the connection had broken. Once the body is complete, nothing
    is timed (a long download still hears about a disconnect)."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        complete = False
        started = False
        cut_off = False

        async def timed_receive() -> Message:
            nonlocal complete, cut_off
            if cut_off:
                return {"type": "http.disconnect"}
            if complete:
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except TimeoutError:
                if started:
                    cut_off = True
                    return {"type": "http.disconnect"}
                raise _BodyTimeout(self.timeout_s) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except _BodyTimeout as error:
            # A route that reads its stream itself may let the timeout through.
            if not started:
                await _send_problem(send, 408, "request_timeout", str(error.detail), close=True)


class AnonymousPageLimit:
    """Per-address token bucket for what anyone can fetch outside the API: pages and their files,
    the documentation, health and metrics. The API's anonymous routes limit themselves."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.limiter.take(client[0] if client else "unknown")
        if wait is None:
            await self.app(scope, receive, send)
            return
        await _send_problem(
            send,
            429,
            "rate_limited",
            "しばらくしてから再度お試しください (too many requests, slow down)",
            retry_after=wait,
        )


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    *,
    close: bool = False,
    retry_after: int | None = None,
) -> None:
    from app.api.errors import HTTP_TITLES

    body = json.dumps(
        {
            "type": f"urn:madoguchi:problem:{code}",
            "title": HTTP_TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "code": code,
        },
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
