"""Real server processes for multi-process and crash tests."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.support import free_port


class ServerUrl(str):
    """The base URL of a served process, with the process itself (tests kill it)."""

    process: subprocess.Popen[bytes]


@contextmanager
def server_process(
    database_url: str, port: int | None = None, log_path: Path | None = None, **env: str
) -> Iterator[ServerUrl]:
    """`madoguchi serve` in its own process; yields its base URL once it answers /healthz.

    Its log goes to ``log_path`` when given (tests read it), else to a temporary file.
    """
    port = port or free_port()
    environment = {
        **os.environ,
        "MADOGUCHI_DATABASE_URL": database_url,
        "MADOGUCHI_KIOSK_BURST": "100000",
        "MADOGUCHI_PUBLIC_BURST": "100000",
        "MADOGUCHI_PAGE_BURST": "100000",
        **env,
    }
    with log_path.open("w+b") if log_path else tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = ServerUrl(f"http://127.0.0.1:{port}")
        url.process = process
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")
                try:
                    if httpx2.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
