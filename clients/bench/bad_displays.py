"""Lobby displays that misbehave, in a process of their own, for the hostile_ws scenario.

Run as ``python -m clients.bench.bad_displays``; one JSON line on stdin:
``{"host": "127.0.0.1", "port": P, "path": "/api/v1/ws/...", "silent": N, "slow": M,
"addresses": A}``.

The bad clients stand for other machines on the network, so this process runs at the lowest
priority (``nice 19``): on a host with few cores the server is charged with the work the bad
clients cause it, not with this generator's own CPU competing for the same cores. Against a
server on 127.0.0.1, client *i* connects from loopback address ``127.0.2.(i % A + 1)`` (A at
most 254; by default one address per client, as separate machines would be).

* **silent**: completes the handshake with tiny receive buffers, asks to replay the whole
  history (``resume`` from 0), and never reads another byte: the television that froze.
* **slow**: the same, but reads 512 bytes a second: a display on a poor link.

A slow one reconnects half a second after the server drops it, a silent one every 15 s, so the
pressure lasts the whole run. Prints ``{"event": "ready", ...}`` once every client has connected
once, then, when stdin closes, ``{"event": "result", "connections": n, ...}`` and exits.
"""

import asyncio
import base64
import json
import os
import socket
import sys
from typing import Any

from websockets.frames import Frame, Opcode

RESUME_FROM_ZERO = Frame(Opcode.TEXT, b'{"type":"resume","after_seq":0}')
SILENT_LIFETIME_S = 15.0


class Counts:
    def __init__(self) -> None:
        self.connections = 0
        self.dropped = 0
        self.failed = 0
        self.refused = 0


class Refused(ConnectionError):
    """The server answered 429 before the upgrade (a per-address limit)."""


async def handshake(host: str, port: int, path: str, source: str | None = None) -> socket.socket:
    """A connected websocket on a bare non-blocking socket (no transport reading ahead)."""
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    try:
        if source is not None:
            raw.bind((source, 0))
        await loop.sock_connect(raw, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(
            raw,
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode(),
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await asyncio.wait_for(loop.sock_recv(raw, 1024), 60)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if head.startswith(b"HTTP/1.1 429"):
            raise Refused(head[:80].decode(errors="replace"))
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head[:80].decode(errors="replace"))
    except BaseException:
        raw.close()
        raise
    return raw


async def read_slowly(raw: socket.socket) -> None:
    """512 bytes a second until the server closes."""
    loop = asyncio.get_running_loop()
    while True:
        if not await loop.sock_recv(raw, 512):
            return
        await asyncio.sleep(1.0)


def source_address(config: dict[str, Any], index: int) -> str | None:
    if config["host"] != "127.0.0.1":
        return None
    addresses = max(1, min(254, int(config.get("addresses") or 254)))
    return f"127.0.2.{index % addresses + 1}"


async def bad_display(
    config: dict[str, Any],
    index: int,
    counts: Counts,
    ready: asyncio.Event,
    settled: list[int],
    total: int,
) -> None:
    loop = asyncio.get_running_loop()
    slow = index >= config["silent"]
    source = source_address(config, index)
    first = True
    while True:
        try:
            raw = await handshake(config["host"], config["port"], config["path"], source)
        except Refused:
            # Turned away at the door: counts as settled, and tries again a second later.
            counts.refused += 1
            if first:
                first = False
                settled[0] += 1
                if settled[0] == total:
                    ready.set()
            await asyncio.sleep(1.0)
            continue
        except (OSError, ConnectionError, TimeoutError):
            counts.failed += 1
            await asyncio.sleep(1.0)
            continue
        counts.connections += 1
        if first:
            first = False
            settled[0] += 1
            if settled[0] == total:
                ready.set()
        try:
            await loop.sock_sendall(raw, RESUME_FROM_ZERO.serialize(mask=True))
            if slow:
                await read_slowly(raw)
                counts.dropped += 1
            else:
                # Never read; after a while the television is switched off and on again.
                await asyncio.sleep(SILENT_LIFETIME_S)
        except OSError:
            counts.dropped += 1
        finally:
            raw.close()
        await asyncio.sleep(0.5)


async def main() -> None:
    os.nice(19)  # other machines' load: never compete with the server for this host's cores
    config = json.loads(sys.stdin.readline())
    counts = Counts()
    total = int(config["silent"]) + int(config["slow"])
    ready = asyncio.Event()
    settled = [0]
    tasks = [
        asyncio.create_task(bad_display(config, index, counts, ready, settled, total))
        for index in range(total)
    ]
    await asyncio.wait_for(ready.wait(), 300)
    print(
        json.dumps(
            {
                "event": "ready",
                "connected": settled[0],
                "failed": counts.failed,
                "refused": counts.refused,
            }
        ),
        flush=True,
    )
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes stdin
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(
        json.dumps(
            {
                "event": "result",
                "connections": counts.connections,
                "dropped_by_server": counts.dropped,
                "failed": counts.failed,
                "refused": counts.refused,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
