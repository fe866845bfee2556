"""Many lobby displays in one process: websocket clients that record when each event arrives.

Run as ``python -m clients.bench.display_swarm``; it talks to its parent over stdin/stdout,
one JSON object per line:

1. parent → swarm: ``{"urls": [...], "clients": N, "connect_concurrency": 50,
   "per_address": 25}``. Client *i* connects to ``urls[i % len(urls)]`` (its *group*), without
   compression. To a server on 127.0.0.1 it connects from its own lobby's loopback address,
   ``127.0.1.(i // per_address + 1)``: the server limits connections per client address
   (``display.connections_per_address``), as it would a lobby behind one NAT address.
2. swarm → parent: ``{"event": "ready", "connected": n, "failed": m, ...}`` once every client
   has its first message (the snapshot) or has given up.
3. parent → swarm: ``{"cmd": "collect", "final_seq": S, "t0": {"A-001": t, ...},
   "timeout_s": 20, "close": true}``. The swarm waits until every open client has seen seq
   ``S`` (or the timeout), then answers ``{"event": "result", ...}``: delivery latency of the
   ``ticket.called`` events (receipt − ``t0`` of the call's number; both ``time.monotonic()``,
   i.e. CLOCK_MONOTONIC, shared by every process on the host), and for every client the seq
   stream checked for contiguity (missed, out-of-order, resyncs, drops). Recorded receipts
   are cleared after each collect, so a long run (the soak) can collect repeatedly; with
   ``"close": true`` the swarm disconnects and exits.

The swarm exits by itself when stdin closes or after ``max_lifetime_s``.
"""

import asyncio
import json
import resource
import sys
import time
from array import array
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summarise(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else None,
        "mean": sum(ordered) / len(ordered) if ordered else None,
    }


class Display:
    __slots__ = (
        "index",
        "group",
        "last",
        "snapshot_seq",
        "missed",
        "gaps",
        "out_of_order",
        "resyncs",
        "heartbeats",
        "messages",
        "bytes",
        "called_seq",
        "called_at",
        "closed",
        "close_code",
        "connect_s",
        "error",
    )

    def __init__(self, index: int, group: int) -> None:
        self.index = index
        self.group = group
        self.last: int | None = None
        self.snapshot_seq: int | None = None
        self.missed = 0
        self.gaps = 0
        self.out_of_order = 0
        self.resyncs = 0
        self.heartbeats = 0
        self.messages = 0
        self.bytes = 0
        self.called_seq = array("q")
        self.called_at = array("d")
        self.closed = False
        self.close_code: int | None = None
        self.connect_s: float | None = None
        self.error: str | None = None


class Swarm:
    def __init__(
        self, urls: list[str], clients: int, connect_concurrency: int, per_address: int = 25
    ) -> None:
        self.urls = urls
        self.per_address = max(1, per_address)
        self.displays = [Display(i, i % len(urls)) for i in range(clients)]
        self.connect_gate = asyncio.Semaphore(connect_concurrency)
        # (group, seq) → number of a ticket.called event; seqs are per server in the baseline
        self.numbers: dict[tuple[int, int], str] = {}
        self.settled = 0  # clients that have their snapshot or gave up
        self.all_settled = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.event_bytes = 0
        self.event_count = 0

    # -- connecting ---------------------------------------------------------------------

    def _settle(self) -> None:
        self.settled += 1
        if self.settled == len(self.displays):
            self.all_settled.set()

    def source_address(self, display: Display, url: str) -> tuple[str, int] | None:
        """The loopback address this display connects from (its lobby), for a local server."""
        if urlsplit(url).hostname != "127.0.0.1":
            return None
        lobby = display.index // self.per_address
        return (f"127.0.{1 + lobby // 254}.{1 + lobby % 254}", 0)

    async def run_display(self, display: Display) -> None:
        url = self.urls[display.group]
        source = self.source_address(display, url)
        connection: ClientConnection | None = None
        async with self.connect_gate:
            started = time.monotonic()
            for attempt in range(3):
                try:
                    connection = await connect(
                        url,
                        compression=None,
                        open_timeout=60,
                        ping_interval=20,
                        ping_timeout=20,
                        close_timeout=1,
                        max_size=2**22,
                        **({"local_addr": source} if source else {}),
                    )
                    first = await asyncio.wait_for(connection.recv(), 60)
                    break
                except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as error:
                    display.error = f"{type(error).__name__}: {error}"[:200]
                    if connection is not None:
                        await connection.close()
                        connection = None
                    await asyncio.sleep(0.5 * (attempt + 1))
            if connection is None:
                display.closed = True
                self._settle()
                return
            display.connect_s = time.monotonic() - started
            display.error = None
        self._receive(display, first, time.monotonic())
        self._settle()
        try:
            async for raw in connection:
                self._receive(display, raw, time.monotonic())
        except ConnectionClosed:
            pass
        finally:
            display.closed = True
            display.close_code = connection.close_code

    def _receive(self, display: Display, raw: str | bytes, at: float) -> None:
        message = orjson.loads(raw)
        display.messages += 1
        kind = message.get("type")
        if kind == "heartbeat":
            display.heartbeats += 1
            return
        seq = message.get("seq")
        if not isinstance(seq, int):
            return
        if kind == "lobby.snapshot":
            if display.last is None:
                display.snapshot_seq = seq
            else:
                # A fresh snapshot mid-stream: the events it skips were not delivered as events.
                display.resyncs += 1
                if seq > display.last:
                    display.missed += seq - display.last
            display.last = seq
            return
        display.bytes += len(raw)
        if display.last is None:
            display.out_of_order += 1
            return
        if seq <= display.last:
            display.out_of_order += 1
            return
        if seq > display.last + 1:
            display.missed += seq - display.last - 1
            display.gaps += 1
        display.last = seq
        if kind == "ticket.called":
            display.called_seq.append(seq)
            display.called_at.append(at)
            key = (display.group, seq)
            if key not in self.numbers:
                self.numbers[key] = message["data"]["number"]
                self.event_bytes += len(raw)
                self.event_count += 1

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.run_display(d)) for d in self.displays]

    def ready_report(self) -> dict[str, Any]:
        connected = [d for d in self.displays if d.connect_s is not None]
        failed = [d for d in self.displays if d.connect_s is None]
        seqs = [d.snapshot_seq for d in connected if d.snapshot_seq is not None]
        return {
            "event": "ready",
            "connected": len(connected),
            "failed": len(failed),
            "errors": sorted({d.error for d in failed if d.error})[:5],
            "connect_s": summarise([d.connect_s for d in connected if d.connect_s is not None]),
            "snapshot_seq": [min(seqs), max(seqs)] if seqs else None,
        }

    # -- collecting ---------------------------------------------------------------------

    def _pending(self, final_seq: int) -> list[Display]:
        return [
            d
            for d in self.displays
            if d.connect_s is not None and not d.closed and (d.last is None or d.last < final_seq)
        ]

    async def collect(
        self, final_seq: int, t0: dict[str, float], timeout_s: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        waited_started = time.monotonic()
        # Polling every 50 ms costs less than checking a target on every message.
        while self._pending(final_seq) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        waited = time.monotonic() - waited_started
        connected = [d for d in self.displays if d.connect_s is not None]
        tail_missing = 0
        for display in connected:
            if display.last is not None and display.last < final_seq:
                tail_missing += final_seq - display.last
        start_of: dict[tuple[int, int], float] = {}
        for key, number in self.numbers.items():
            if key[1] <= final_seq and number in t0:
                start_of[key] = t0[number]
        latencies: list[float] = []
        by_group: dict[int, list[float]] = {}
        fanout: dict[str, float] = {}
        unmatched = 0
        for display in connected:
            group = by_group.setdefault(display.group, [])
            kept_seq, kept_at = array("q"), array("d")
            for seq, at in zip(display.called_seq, display.called_at, strict=True):
                if seq > final_seq:  # not part of this collection: keep it for the next one
                    kept_seq.append(seq)
                    kept_at.append(at)
                    continue
                began = start_of.get((display.group, seq))
                if began is None:
                    unmatched += 1
                    continue
                ms = (at - began) * 1000.0
                latencies.append(ms)
                group.append(ms)
                number = self.numbers[(display.group, seq)]
                if ms > fanout.get(number, float("-inf")):
                    fanout[number] = ms
            display.called_seq = kept_seq
            display.called_at = kept_at
        report = {
            "event": "result",
            "clients": len(self.displays),
            "connected": len(connected),
            "open_at_end": len([d for d in connected if not d.closed]),
            "dropped": len([d for d in connected if d.closed]),
            "close_codes": sorted({d.close_code for d in connected if d.closed and d.close_code}),
            "final_seq": final_seq,
            "calls_seen": len(start_of),
            "calls_sent": len(t0),
            "expected_call_deliveries": len(t0) * len(connected),
            "call_deliveries": len(latencies),
            "unmatched": unmatched,
            "latency_ms": summarise(latencies),
            "latency_ms_by_group": {str(g): summarise(v) for g, v in sorted(by_group.items())},
            "fanout_ms": summarise(list(fanout.values())),
            # the time until the last display had it, per call, in call order
            "fanout_series": [
                [n, round(ms, 2)] for n, ms in sorted(fanout.items(), key=lambda i: t0[i[0]])
            ],
            "missed": sum(d.missed for d in connected) + tail_missing,
            "tail_missing": tail_missing,
            "gaps": sum(d.gaps for d in connected),
            "out_of_order": sum(d.out_of_order for d in connected),
            "resyncs": sum(d.resyncs for d in connected),
            "events_received": sum(d.messages - d.heartbeats for d in connected),
            "heartbeats": sum(d.heartbeats for d in connected),
            "mean_event_bytes": (self.event_bytes / self.event_count) if self.event_count else None,
            "waited_s": waited,
        }
        for display in connected:
            display.missed = display.gaps = display.out_of_order = display.resyncs = 0
        self.numbers = {key: n for key, n in self.numbers.items() if key[1] > final_seq}
        return report

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _stdin() -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=2**26)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _read_line(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    line = await reader.readline()
    if not line:
        return None
    return json.loads(line)


async def main_async(max_lifetime_s: float) -> None:
    stdin = await _stdin()
    config = await _read_line(stdin)
    if config is None:
        return
    clients = int(config["clients"])
    raise_fd_limit(clients + 256)
    swarm = Swarm(
        list(config["urls"]),
        clients,
        int(config.get("connect_concurrency", 50)),
        int(config.get("per_address", 25)),
    )
    swarm.start()
    try:
        await asyncio.wait_for(
            swarm.all_settled.wait(), float(config.get("connect_timeout_s", 180))
        )
    except TimeoutError:
        pass
    _emit(swarm.ready_report())
    try:
        async with asyncio.timeout(max_lifetime_s):
            while True:
                command = await _read_line(stdin)
                if command is None:
                    break
                if command.get("cmd") == "collect":
                    report = await swarm.collect(
                        int(command["final_seq"]),
                        {str(k): float(v) for k, v in command.get("t0", {}).items()},
                        float(command.get("timeout_s", 20)),
                    )
                    _emit(report)
                    if command.get("close", True):
                        break
                elif command.get("cmd") == "close":
                    break
    except TimeoutError:
        pass
    finally:
        await swarm.close()


def main() -> None:
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 4 * 3600.0
    asyncio.run(main_async(lifetime))


if __name__ == "__main__":
    main()
