"""`madoguchi intake FILE`: the mail room sends a file; a resend stores nothing twice."""

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.factories import status_report
from tests.support import LiveServer, Office


async def run_intake(server: LiveServer, token: str, path: Path, *extra: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "intake",
        str(path),
        "--url",
        server.url,
        "--token",
        token,
        "--chunk-lines",
        "7",
        *extra,
        env={**os.environ},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    return process.returncode or 0, err.decode()


async def test_mail_room_file_with_bad_lines(
    server: LiveServer, office: Office, tmp_path: Path
) -> None:
    lines = [json.dumps(status_report(f"MAIL-{n}"), ensure_ascii=False) for n in range(20)]
    lines[12] = '{"procedure": "child_rearing.status_report"'
    path = tmp_path / "genkyo.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = await run_intake(
        server, office.token("intake"), path, "--report", str(tmp_path / "r.ndjson")
    )
    assert code == 1
    assert "line 13:" in err
    assert "created 19" in err and "rejected 1" in err
    report = [json.loads(line) for line in (tmp_path / "r.ndjson").read_text().splitlines()]
    assert [r["line"] for r in report] == list(range(1, 21))
    code, err = await run_intake(server, office.token("intake"), path)
    assert "created 0" in err and "duplicate 19" in err
