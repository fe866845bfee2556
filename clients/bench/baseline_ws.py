"""Bare servers the lobby figures are compared with: the limit of Python on this machine.

``python -m clients.bench.baseline_ws ws --port P``
    A bare ``websockets`` server (asyncio, no compression) that does what the product's display
    channel does, and nothing else. Any path but ``/control`` is a display: it gets a snapshot
    ``{"type":"lobby.snapshot","seq":N}`` and then every event. A ``/control`` connection is
    the stand-in for a counter or a kiosk: each text message ``{"type","at","data"}`` gets the
    next seq, is answered with ``{"seq": N}`` (the stand-in for the API's response) and is then
    sent to every display with ``websockets.broadcast()`` (encoded once, written to each socket
    without waiting). Prints ``{"event": "ready", "port": P}`` once listening.

``python -m clients.bench.baseline_ws http --port P``
    uvicorn (same loop, HTTP parser and log level as ``madoguchi serve``) with a bare ASGI app
    that reads the request and answers 201 with a ticket-sized JSON body: the ceiling of the
    HTTP stack and the load generator for the ticket-issue figure.
"""

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed


class Broadcaster:
    def __init__(self) -> None:
        self.displays: set[ServerConnection] = set()
        self.seq = 0

    async def handler(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else "/"
        if path.startswith("/control"):
            await self._control(connection)
        else:
            await self._display(connection)

    async def _display(self, connection: ServerConnection) -> None:
        snapshot = json.dumps({"type": "lobby.snapshot", "seq": self.seq}, separators=(",", ":"))
        await connection.send(snapshot)
        self.displays.add(connection)
        try:
            async for _ in connection:  # a display may send resume requests; nothing to do here
                pass
        except ConnectionClosed:
            pass
        finally:
            self.displays.discard(connection)

    async def _control(self, connection: ServerConnection) -> None:
        try:
            async for raw in connection:
                message = json.loads(raw)
                self.seq += 1
                text = json.dumps(
                    {
                        "type": message["type"],
                        "seq": self.seq,
                        "at": message["at"],
                        "data": message["data"],
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                await connection.send(json.dumps({"seq": self.seq}))
                broadcast(self.displays, text)
        except ConnectionClosed:
            pass


async def serve_ws(host: str, port: int) -> None:
    broadcaster = Broadcaster()
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(
        broadcaster.handler, host, port, compression=None, max_size=2**20, close_timeout=1
    ) as server:
        bound = server.sockets[0].getsockname()[1] if server.sockets else port
        sys.stdout.write(json.dumps({"event": "ready", "port": bound}) + "\n")
        sys.stdout.flush()
        await stop


TICKET_BODY = json.dumps(
    {
        "id": "0" * 32,
        "number": "A-001",
        "status": "waiting",
        "category_id": "1" * 32,
        "office_id": "2" * 32,
        "is_priority": False,
        "language": "ja",
        "issued_at": "2025-01-01T09:00:00+00:00",
        "called_at": None,
        "counter_id": None,
        "counter_label": None,
        "call_count": 0,
        "position": 1,
        "ahead": 0,
        "estimate_min": 0,
        "allowed_actions": ["call", "cancel", "transfer"],
        "public_key": "k" * 22,
        "status_url": "http://127.0.0.1:8000/status/?ticket=" + "0" * 32 + "&key=" + "k" * 22,
    }
).encode()


async def bare_http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    # Issuing answers 201, any other command (call-next) 200, like the product.
    post = scope["method"] == "POST"
    status = 201 if post and scope["path"].endswith("/tickets") else 200
    body = TICKET_BODY if post else b'{"status":"ok"}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve_http(host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(bare_http_app, host=host, port=port, log_level="info", proxy_headers=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["ws", "http"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.mode == "ws":
        asyncio.run(serve_ws(args.host, args.port))
    else:
        serve_http(args.host, args.port)


if __name__ == "__main__":
    main()
