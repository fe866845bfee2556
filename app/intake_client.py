"""The mail room's side of bulk intake: a file sent in chunks, results read back per line."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx2
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn


def chunks(handle: IO[bytes], size: int) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the chunk's first line, its lines); blank lines keep their numbers."""
    first, lines = 1, []
    for number, line in enumerate(handle, start=1):
        lines.append(line if line.endswith(b"\n") else line + b"\n")
        if len(lines) >= size:
            yield first, lines
            first, lines = number + 1, []
    if lines:
        yield first, lines


def send_file(
    path: Path, *, url: str, token: str, chunk_lines: int, report: Path | None
) -> dict[str, int]:
    totals = {"created": 0, "duplicate": 0, "conflict": 0, "rejected": 0, "failed": 0}
    out = report.open("w", encoding="utf-8") if report else None
    size = path.stat().st_size
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        disable=not sys.stderr.isatty(),
        transient=False,
    )
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/x-ndjson"}
    try:
        with (
            progress,
            httpx2.Client(base_url=url.rstrip("/") + "/api/v1", timeout=600) as client,
            path.open("rb") as handle,
        ):
            bar = progress.add_task("送信中 sending", total=size)
            for first, lines in chunks(handle, chunk_lines):
                response = client.post(
                    "/applications/bulk", content=b"".join(lines), headers=headers
                )
                if response.status_code != 200:
                    raise SystemExit(
                        f"error: the service answered {response.status_code}: {response.text[:500]}"
                    )
                for raw in response.text.splitlines():
                    result = json.loads(raw)
                    result["line"] += first - 1
                    totals[result["status"]] = totals.get(result["status"], 0) + 1
                    if out:
                        out.write(json.dumps(result, ensure_ascii=False) + "\n")
                    if result["status"] in ("rejected", "conflict", "failed"):
                        reasons = "; ".join(
                            f"{e['field']}: {e['message']}" for e in result.get("errors", [])
                        )
                        print(f"line {result['line']}: {reasons}", file=sys.stderr)
                progress.update(bar, advance=sum(len(line) for line in lines))
    finally:
        if out:
            out.close()
    return totals
