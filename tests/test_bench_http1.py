"""The load generators' lean HTTP/1.1 client against a server that answers the ways uvicorn does."""

import asyncio
import json

import pytest

from clients.bench.http1 import HttpError, LeanClient


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, int, list[bytes]]:
    """A server that reads one request at a time and sends the next canned answer."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            received.append(head + await reader.readexactly(length))
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received


async def test_keep_alive_requests_with_length_and_chunked_answers() -> None:
    body = json.dumps({"番号": "A-001"}, ensure_ascii=False).encode()
    server, port, received = await _serve(
        [
            b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            % len(body)
            + body,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b'4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n',
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        ]
    )
    async with (
        server,
        LeanClient(
            f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": "Bearer t"}
        ) as client,
    ):
        first = await client.post("/offices/x/tickets", json={"category": "窓口"})
        second = await client.get("/lobby")
        third = await client.post("/work/claim")

    assert (first.status_code, first.json()) == (201, {"番号": "A-001"})
    assert (second.status_code, second.json()) == (200, {"a": 1})
    assert (third.status_code, third.content) == (204, b"")
    # All three on one connection, each with its path, token and JSON body.
    assert len(received) == 3
    assert received[0].startswith(b"POST /api/v1/offices/x/tickets HTTP/1.1\r\n")
    assert b"Authorization: Bearer t\r\n" in received[0]
    assert received[0].endswith(json.dumps({"category": "窓口"}, ensure_ascii=False).encode())
    assert (
        received[1].startswith(b"GET /api/v1/lobby HTTP/1.1\r\n")
        and b"Content-Length" not in received[1]
    )
    assert b"Content-Length: 0\r\n" in received[2]


async def test_a_refused_connection_or_garbage_is_an_http_error() -> None:
    server, port, _ = await _serve([b"SSH-2.0-OpenSSH\r\n\r\n"])
    async with server:
        with pytest.raises(HttpError, match="not an HTTP/1.1 answer"):
            await LeanClient(f"http://127.0.0.1:{port}").get("/")
    with pytest.raises(HttpError, match="ConnectionRefusedError|OSError"):
        await LeanClient(f"http://127.0.0.1:{port}").get("/")
