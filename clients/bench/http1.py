"""A lean HTTP/1.1 keep-alive client for the load generators' timed loops.

The load generator shares the machine's cores with the server and PostgreSQL, so every
microsecond it spends per request is taken from what it measures. A general client
(connection pool, cookie jar, URL and header models, redirects, timeouts per phase) costs about
1.3 ms of CPU per request here; this one writes the request bytes itself and reads the answer
with ``asyncio`` streams, for a small fraction of that. It speaks only what the benchmarks
send: one connection, requests one after another, bodies of JSON, answers with
``Content-Length`` or chunked. Anything else raises :class:`HttpError`.
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 this client understands."""


@dataclass(slots=True)
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """One keep-alive connection to ``base_url`` (``http://host:port/prefix``)."""

    def __init__(
        self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http://host:port URLs: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        fixed = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode(
            "latin-1"
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._writer is None or self._reader is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, json_body: Any = None) -> Answer:
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if json_body is not None:
            head += b"Content-Type: application/json\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += b"Content-Length: %d\r\n" % len(body)
        try:
            return await asyncio.wait_for(self._exchange(head + b"\r\n" + body), self.timeout)
        except HttpError:
            await self.aclose()
            raise
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
            await self.aclose()
            raise HttpError(f"{method} {path}: {type(error).__name__} {error}") from error

    async def _exchange(self, request: bytes) -> Answer:
        reader, writer = await self._connect()
        writer.write(request)
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.1 answer: {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = closing = False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                closing = True
        if chunked:
            pieces = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                pieces.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # the empty trailer
            content = b"".join(pieces)
        elif length is not None:
            content = await reader.readexactly(length)
        else:
            content = await reader.read()
            closing = True
        if closing:
            await self.aclose()
        return Answer(status, content)

    async def get(self, path: str) -> Answer:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> Answer:  # noqa: A002 - httpx's name
        return await self.request("POST", path, json)

    async def aclose(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> "LeanClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
