"""The CPU-heavy half of bulk intake, parsing and checking lines, in a worker process.

While the server stores one group of lines, a worker reads and checks the next: the two halves
run on two cores instead of taking turns on one. The worker only computes (no database, no
files but the attachment store's existence checks; the audit key it signs log rows with comes
with each group, through the pool's pipe, never through a file or the environment): what it
returns is what the server would have computed itself, and any failure of the pool falls back
to doing it in the server.
"""

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from app.services.worker_processes import end_with_server

log = logging.getLogger(__name__)

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


def _executor(processes: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # Fresh interpreters, never a fork of the server's threads and locks; each one ends
        # with the server, however the server ends.
        _pool = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"), initializer=end_with_server
        )
    return _pool


def _discard() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


async def run(function: Callable[..., T], *args: Any, processes: int) -> T:
    """``function(*args)`` (pure, module-level) in a worker process when there are any, else
    (or if the workers fail) here."""
    if processes > 0:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                _executor(processes), function, *args
            )
        except (BrokenProcessPool, OSError, RuntimeError) as error:
            log.warning("bulk workers unavailable, working here: %s", type(error).__name__)
            _discard()
    return function(*args)
