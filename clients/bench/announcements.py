"""Click-to-audio: how long after a counter's click a lobby display has the call's audio.

    python -m clients.bench.announcements [--calls 40] [--json out.json]

Starts the service (``python -m app serve``, SQLite in a scratch folder, an empty audio cache),
seeds the demo office and connects one display websocket. Per ticket (their languages rotate
through the kiosk's, so every call has Japanese and most a second language): the counter clicks
call-next, the display waits for the ``ticket.called`` event and fetches every announcement file
it names, as the display page does. Time from the click to the last file's last byte:

* **cold**: the first call of a number, rendered on demand (the cache had nothing);
* **warm**: the recall of the same number (the files are on disk, as after pre-rendering).

Prints median and p95 of each (the issue's target: audible within 1.5 s at p95).
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from websockets.asyncio.client import connect

from clients.bench.runner import ServerProcess, seed_demo

LANGUAGES = ["en", "zh", "ko", "vi", "pt", "es", "ja", "ne", "id", "ja-easy", "tl"]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def measure(server: ServerProcess, demo: dict[str, Any], calls: int) -> dict[str, Any]:
    office = demo["offices"][0]
    tokens = demo["tokens"]
    counter_id = next(c["id"] for c in office["counters"] if c["label"] == "1")
    category = next(c["id"] for c in office["categories"] if c["prefix"] == "A")
    base = server.url + "/api/v1"
    cold: list[float] = []
    warm: list[float] = []
    async with (
        httpx2.AsyncClient(base_url=base, timeout=30) as http,
        connect(
            f"{server.ws_url}/api/v1/ws/offices/{office['id']}/lobby?token={tokens['display']}"
        ) as ws,
    ):
        kiosk = {"Authorization": f"Bearer {tokens['kiosk']}"}
        counter = {"Authorization": f"Bearer {tokens['counter']}"}
        display = {"Authorization": f"Bearer {tokens['display']}"}
        tickets = []  # the demo's own waiting tickets are called too: their language is ja
        for i in range(calls):
            issued = await http.post(
                f"/offices/{office['id']}/tickets",
                json={"category": category, "language": LANGUAGES[i % len(LANGUAGES)]},
                headers=kiosk,
            )
            issued.raise_for_status()
            tickets.append(issued.json())

        async def audio_after(click: Any, kind: str) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            response = await click
            response.raise_for_status()
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == kind:
                    break
            for ref in message["data"]["announcements"]:
                audio = await http.get(ref["url"].removeprefix("/api/v1"), headers=display)
                audio.raise_for_status()
            return time.perf_counter() - started, dict(response.json())

        for _ in tickets:
            seconds, called = await audio_after(
                http.post(f"/counters/{counter_id}/call-next", headers=counter), "ticket.called"
            )
            cold.append(seconds)
            seconds, _ = await audio_after(
                http.post(f"/tickets/{called['id']}/recall", headers=counter), "ticket.recalled"
            )
            warm.append(seconds)
            for step in ("start", "finish"):
                done = await http.post(f"/tickets/{called['id']}/{step}", headers=counter)
                done.raise_for_status()
    return {
        "calls": calls,
        "cold_median_s": statistics.median(cold),
        "cold_p95_s": p95(cold),
        "warm_median_s": statistics.median(warm),
        "warm_p95_s": p95(warm),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-speech-") as scratch:
        work = Path(scratch)
        url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        env = {"MADOGUCHI_SPEECH__CACHE_DIR": str(work / "announcements")}
        demo = seed_demo(url, env)
        with ServerProcess(url, work / "server.log", env) as server:
            result = asyncio.run(measure(server, demo, args.calls))
    print(f"click to audio available, {result['calls']} calls (seconds)")
    print(
        f"  cold (rendered on demand): median {result['cold_median_s']:.3f}  "
        f"p95 {result['cold_p95_s']:.3f}"
    )
    print(
        f"  warm (already on disk):    median {result['warm_median_s']:.3f}  "
        f"p95 {result['warm_p95_s']:.3f}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
