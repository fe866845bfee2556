"""The supervisor console's what-if (issue 23): one simulation at a time, in a worker process.

The input is the default profile scaled to the city's population, its volumes and service times
fitted from the municipality's own event log where ``source`` is ``log``, the target share and
the seed. Its hash keys a small cache: the same input gives the same figures without a second
run, and a request for an input already running waits for that run. While another input runs,
the answer is 429 with Retry-After (the machine has few cores; a year of a large city takes
tens of seconds). A run has a size cap (applications a year) and a time cap: settings ``whatif``.
"""

import asyncio
import multiprocessing
import threading
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

from app.domain.errors import InvalidInput, RateLimited, Unavailable
from app.domain.roles import Principal
from app.services.uow import UnitOfWork
from app.services.whatif import log_fit
from app.services.worker_processes import end_with_server
from app.simulation.fitting import FitLine
from app.simulation.profile import load_profile
from app.simulation.runs import expected_cases, input_key, simulate
from app.simulation.whatif import TooLong

Source = Literal["log", "profile"]
CACHED = 16
RETRY_AFTER_S = 30
MAX_SEED = 2**31 - 1


@dataclass
class _Runs:
    lock: threading.Lock
    running: dict[str, "Future[dict[str, Any]]"]
    done: "OrderedDict[str, dict[str, Any]]"
    pool: ProcessPoolExecutor | None = None


_runs = _Runs(threading.Lock(), {}, OrderedDict())


def _pool() -> ProcessPoolExecutor:
    if _runs.pool is None:
        # spawn: a fresh interpreter, none of the server's sockets, threads or event loop;
        # it ends with the server, however the server ends.
        _runs.pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=end_with_server
        )
    return _runs.pool


def shutdown() -> None:
    """Stop the worker process (the application's shutdown)."""
    with _runs.lock:
        pool, _runs.pool = _runs.pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def check_input(target: float, seed: int, population: int | None) -> None:
    problems = []
    if not 0 < target <= 1:
        problems.append(
            {
                "field": "target",
                "code": "out_of_range",
                "message": "目標は 0 より大きく 1 以下です (target must be in (0, 1])",
            }
        )
    if not 0 <= seed <= MAX_SEED:
        problems.append(
            {
                "field": "seed",
                "code": "out_of_range",
                "message": f"seed は 0 以上 {MAX_SEED} 以下です (seed must be 0 to {MAX_SEED})",
            }
        )
    if population is not None and not 1_000 <= population <= 10_000_000:
        problems.append(
            {
                "field": "population",
                "code": "out_of_range",
                "message": "人口は 1,000 以上です (population from 1,000 to 10,000,000)",
            }
        )
    if problems:
        raise InvalidInput("入力に誤りがあります (invalid what-if input)", problems)


async def run(
    uow: UnitOfWork,
    principal: Principal,
    *,
    target: float,
    seed: int,
    source: Source,
    population: int | None,
) -> dict[str, Any]:
    """The per-month table pooled vs separate and the plots, for the caller's municipality."""
    check_input(target, seed, population)
    profile = load_profile()
    if population is not None:
        profile = profile.scaled(population)
    fit: list[FitLine] = []
    if source == "log":
        fitted = await log_fit(uow, principal.municipality_code, profile)
        profile, fit = fitted.profile, list(fitted.lines)
    caps = uow.settings.whatif
    if expected_cases(profile) > caps.max_cases:
        raise InvalidInput.field(
            "population",
            "too_large",
            f"1 年 {caps.max_cases:,} 件までを試算できます "
            f"(at most {caps.max_cases:,} applications a year; try a smaller population)",
        )
    # A result fitted from one municipality's log is never served to another from the cache.
    owner = principal.municipality_code if source == "log" else ""
    key = input_key(profile, target, seed, owner)
    profile_json = profile.model_dump_json(by_alias=True)
    result, cached = await _result(key, profile_json, target, seed, caps.time_cap_s)
    return {
        **result,
        "input_key": key,
        "cached": cached,
        "seed": seed,
        "target": target,
        "source": source,
        "population": profile.population,
        "profile": profile.name,
        "year": profile.year,
        "fit": [line.__dict__ for line in fit],
    }


async def _result(
    key: str, profile_json: str, target: float, seed: int, time_cap_s: float
) -> tuple[dict[str, Any], bool]:
    with _runs.lock:
        if key in _runs.done:
            _runs.done.move_to_end(key)
            return _runs.done[key], True
        future = _runs.running.get(key)
        if future is None:
            if _runs.running:
                raise RateLimited(
                    "別の試算を実行中です (another what-if is running; try again shortly)",
                    retry_after_s=RETRY_AFTER_S,
                )
            future = _pool().submit(simulate, profile_json, target, seed, time_cap_s)
            _runs.running[key] = future
            future.add_done_callback(lambda done: _finished(key, done))
    try:
        return await asyncio.shield(asyncio.wrap_future(future)), False
    except TooLong:
        raise Unavailable(
            f"試算が {time_cap_s:g} 秒を超えました (the what-if ran past its "
            f"{time_cap_s:g} s cap; try a smaller population)"
        ) from None
    except BrokenProcessPool:
        shutdown()  # the worker died (killed, out of memory): the next run starts a new one
        raise Unavailable("試算を実行できませんでした (the what-if worker stopped)") from None


def _finished(key: str, future: "Future[dict[str, Any]]") -> None:
    with _runs.lock:
        _runs.running.pop(key, None)
        if not future.cancelled() and future.exception() is None:
            _runs.done[key] = future.result()
            while len(_runs.done) > CACHED:
                _runs.done.popitem(last=False)
