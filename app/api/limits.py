"""Request size and shape limits, enforced before a body reaches any handler."""

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain import shape
from app.domain.shape import ShapeLimits


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413; streamed bodies are counted as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class _TooLarge(HTTPException):
    # An HTTPException, so FastAPI's body parsing lets it through to the problem+json handler.
    def __init__(self) -> None:
        super().__init__(413, "本文が大きすぎます (body too large)")


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps(
        {
            "type": "urn:madoguchi:problem:too_large",
            "title": "大きすぎます / Payload too large",
            "status": 413,
            "detail": f"本文が大きすぎます (body over {max_bytes} bytes)",
            "code": "too_large",
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Routes that read their body as a stream of lines or bytes, whatever its content type says.
STREAMED_PATHS = re.compile(
    r"/api/v1/(applications/bulk|attachments|vendor/batches/[^/]+/results)/?"
)
_METHODS_WITH_BODIES = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json(content_type: bytes | None, path: str) -> bool:
    """Whether FastAPI would read this body as JSON (it does when no content type is given)."""
    if content_type is None or not content_type.strip():
        return STREAMED_PATHS.fullmatch(path) is None
    main = content_type.split(b";")[0].strip().lower()
    return main == b"application/json" or (
        main.startswith(b"application/") and main.endswith(b"+json")
    )


class JsonShapeLimit:
    """Refuse a JSON body that breaks the shape limits (app/domain/shape.py) with a field-level 422.

    The body is parsed here once more than FastAPI does, with NaN/Infinity and oversized numbers
    kept visible, so nothing FastAPI or pydantic would quietly accept reaches a handler. A body that
    is not JSON at all goes on unchanged, for the route to answer as it always has.
    """

    def __init__(self, app: ASGIApp, limits: ShapeLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _METHODS_WITH_BODIES
            or not _is_json(dict(scope.get("headers", [])).get(b"content-type"), scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problems = shape_problems(body, self.limits) if body.strip() else []
        if problems:
            await _invalid(send, problems)
            return
        await self.app(scope, _replay([body], None), send)


def shape_problems(body: bytes, limits: ShapeLimits) -> list[dict[str, str]]:
    """The shape problems of a JSON document; [] when it fits or is not JSON (others say why)."""
    try:
        value = shape.loads(body)
    except shape.TooDeep:
        return [shape.too_deep_problem(limits)]
    except ValueError:
        return []
    return shape.check_shape(value, limits)


def _replay(bodies: list[bytes], final: Message | None) -> Receive:
    pending = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return final or {"type": "http.disconnect"}

    return receive


async def _invalid(send: Send, problems: list[dict[str, str]]) -> None:
    body = json.dumps(
        {
            "type": "urn:madoguchi:problem:invalid_input",
            "title": "入力に誤りがあります / Invalid input",
            "status": 422,
            "detail": "本文の形が制限を超えています (the body breaks the JSON shape limits)",
            "code": "invalid_input",
            "errors": problems,
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
