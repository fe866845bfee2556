"""The one benchmark runner: scenario registry, result rows, table and JSON, and the helpers
every scenario needs (a database of its own, the demo seed, a ``madoguchi serve`` process).

Adding a scenario
-----------------
Create ``clients/bench/<name>.py`` with::

    from clients.bench.runner import BenchOptions, Result, Row, Target, register

    @register("intake")
    async def run(options: BenchOptions) -> Result:
        ...
        return Result("intake", rows=[
            Row.from_rounds("applications/s", "1/s", per_round, baseline=per_round_baseline,
                            target=Target(">=", 200), group="postgres, 1 process"),
        ])

The names in ``KNOWN_SCENARIOS`` are imported on demand (``bench all`` runs every one that
exists), so a new module needs no other edit; a name outside that list is added to it.
A scenario:

* reads its sizes from ``options.quick`` (development) or the full setting (published figures),
  with ``options.rounds`` and ``options.param("name", default)`` (``--opt name=value``)
  overriding them;
* runs its own baseline in the same run, and gives each figure per round to
  ``Row.from_rounds`` (median, min–max, baseline, ratio, target, met);
* gets a database with ``options.database_url(db, "bench_<name>")`` and
  ``await recreate_database(url)``, seeds it with ``seed_demo(url)``, and serves it with
  ``ServerProcess`` (each one sampled for CPU and RSS, see procstat.py);
* stops everything it started before returning; ``kill_children()`` runs at exit anyway.
"""

import atexit
import ctypes
import importlib
import json
import math
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2

from clients.bench.procstat import ProcSampler

KNOWN_SCENARIOS = ["lobby", "intake", "queue", "vendor", "hostile_bulk", "estimates"]
DEFAULT_PG = os.environ.get("MADOGUCHI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
REFUSED_DATABASES = {"test", "postgres", "template0", "template1"}

T = TypeVar("T")


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``value op target``; ``over`` says which aggregate of the rounds is judged."""

    op: str  # "<=", ">=", "=="
    value: float
    over: str = "median"  # "median", "max" (every round) or "min"

    def check(self, median: float | None, low: float | None, high: float | None) -> bool | None:
        judged = {"median": median, "max": high, "min": low}[self.over]
        if judged is None:
            return None
        if self.op == "<=":
            return judged <= self.value
        if self.op == ">=":
            return judged >= self.value
        if self.op == "==":
            return judged == self.value
        raise ValueError(self.op)

    def __str__(self) -> str:
        text = f"{self.op} {self.value:g}"
        return text + (" (all rounds)" if self.over == "max" and self.op != ">=" else "")


@dataclass
class Row:
    """One figure: median of the rounds with min–max, its baseline, the ratio and the target."""

    metric: str
    unit: str
    value: float | None
    min: float | None
    max: float | None
    baseline: float | None = None
    ratio: float | None = None
    target: Target | None = None
    met: bool | None = None
    group: str = ""
    rounds: list[float] = field(default_factory=list)
    baseline_rounds: list[float] = field(default_factory=list)
    note: str = ""

    @classmethod
    def from_rounds(
        cls,
        metric: str,
        unit: str,
        values: list[float | None],
        *,
        baseline: list[float | None] | float | None = None,
        target: Target | None = None,
        group: str = "",
        note: str = "",
    ) -> "Row":
        present = [float(v) for v in values if v is not None]
        median = statistics.median(present) if present else None
        low = min(present) if present else None
        high = max(present) if present else None
        if isinstance(baseline, list):
            base_rounds = [float(v) for v in baseline if v is not None]
            base = statistics.median(base_rounds) if base_rounds else None
        else:
            base_rounds = [] if baseline is None else [float(baseline)]
            base = None if baseline is None else float(baseline)
        # A baseline that rounds to nothing (an idle host's "other load") has no ratio.
        ratio = median / base if median is not None and base and abs(base) > 1e-6 else None
        return cls(
            metric=metric,
            unit=unit,
            value=median,
            min=low,
            max=high,
            baseline=base,
            ratio=ratio,
            target=target,
            met=target.check(median, low, high) if target else None,
            group=group,
            rounds=present,
            baseline_rounds=base_rounds,
            note=note,
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = str(self.target) if self.target else None
        return data


@dataclass
class Result:
    scenario: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def missed_targets(self) -> list[Row]:
        return [row for row in self.rows if row.met is False]


@dataclass
class BenchOptions:
    quick: bool = True
    dbs: list[str] | None = None  # None: the scenario's default
    rounds: int | None = None
    soak_minutes: float = 0.0
    pg_url: str = DEFAULT_PG
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="madoguchi-bench-")))
    params: dict[str, str] = field(default_factory=dict)
    verbose: bool = True

    def param(self, name: str, default: T) -> T:
        """``--opt name=value``, converted to the type of ``default``."""
        raw = self.params.get(name)
        if raw is None:
            return default
        if isinstance(default, bool):
            return raw.lower() in {"1", "true", "yes", "on"}  # type: ignore[return-value]
        if isinstance(default, list):
            return [type(default[0])(v) if default else v for v in raw.split(",")]  # type: ignore[return-value]
        return type(default)(raw)  # type: ignore[call-arg]

    def env_params(self) -> dict[str, str]:
        """``--opt env.MADOGUCHI_X=value``: extra environment for the servers under test."""
        return {k[4:]: v for k, v in self.params.items() if k.startswith("env.")}

    def database_url(self, db: str, name: str) -> str:
        """SQLite in the work folder, or PostgreSQL database ``<name>_<pid of this run>``: two
        runs at once never share (or drop) each other's database. ``run_scenarios`` drops the
        PostgreSQL databases of this run at the end, and ``recreate_database`` those of runs
        that died."""
        if db == "sqlite":
            return f"sqlite+aiosqlite:///{self.workdir / (name + '.db')}"
        if db == "postgres":
            if name in REFUSED_DATABASES:
                raise ValueError(f"refusing to use database {name!r}")
            return f"{self.pg_url.rstrip('/')}/{name}_{os.getpid()}"
        raise ValueError(f"unknown database {db!r}")

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


Scenario = Callable[[BenchOptions], Awaitable[Result]]
SCENARIOS: dict[str, Scenario] = {}


def register(name: str) -> Callable[[Scenario], Scenario]:
    def decorate(function: Scenario) -> Scenario:
        SCENARIOS[name] = function
        if name not in KNOWN_SCENARIOS:
            KNOWN_SCENARIOS.append(name)
        return function

    return decorate


def load_scenario(name: str) -> Scenario | None:
    """The registered scenario, importing ``clients.bench.<name>`` if needed; None if absent."""
    if name not in SCENARIOS:
        try:
            importlib.import_module(f"clients.bench.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"clients.bench.{name}":
                raise
            return None
    return SCENARIOS.get(name)


# -- table and JSON -----------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(results: list[Result], missing: list[str] = ()) -> str:  # type: ignore[assignment]
    header = ["metric", "unit", "median", "min–max", "baseline", "ratio", "target", "met"]
    lines: list[str] = []
    body: list[list[str] | str] = []
    for result in results:
        group = None
        body.append(f"== {result.scenario} ({result.elapsed_s:.0f} s)")
        for row in result.rows:
            if row.group != group:
                group = row.group
                body.append(f"-- {group}" if group else "--")
            span = f"{_fmt(row.min)}–{_fmt(row.max)}" if len(row.rounds) > 1 else ""
            met = {True: "yes", False: "NO", None: ""}[row.met]
            ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
            body.append(
                [
                    row.metric,
                    row.unit,
                    _fmt(row.value),
                    span,
                    _fmt(row.baseline),
                    ratio,
                    str(row.target) if row.target else "",
                    met,
                ]
            )
        for note in result.notes:
            body.append(f"   note: {note}")
    for name in missing:
        body.append(f"== {name}: not available (no clients/bench/{name}.py registers it yet)")
    widths = [len(h) for h in header]
    for item in body:
        if isinstance(item, list):
            widths = [max(w, len(c)) for w, c in zip(widths, item, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) if i < 6 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines.append(line(header))
    lines.append(line(["-" * w for w in widths]))
    for item in body:
        lines.append(item if isinstance(item, str) else line(item))
    return "\n".join(lines)


def results_json(
    results: list[Result], options: BenchOptions, missing: list[str]
) -> dict[str, Any]:
    return {
        "version": 1,
        "mode": "quick" if options.quick else "full",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "options": {
            "dbs": options.dbs,
            "rounds": options.rounds,
            "soak_minutes": options.soak_minutes,
            "params": options.params,
        },
        "scenarios": {
            r.scenario: {
                "elapsed_s": r.elapsed_s,
                "rows": [row.as_json() for row in r.rows],
                "all_targets_met": not r.missed_targets(),
                "notes": r.notes,
                "details": r.details,
            }
            for r in results
        },
        "not_available": missing,
    }


# -- child processes ----------------------------------------------------------------------

_children: list[subprocess.Popen[Any]] = []
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded here, never in a forked child
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when the runner dies, even by SIGKILL.
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def code_dir(env: dict[str, str] | None) -> str | None:
    """The checkout whose code a child runs when ``--opt env.PYTHONPATH=<checkout>`` names one.

    ``python -m app`` puts its working folder ahead of PYTHONPATH: started from another
    checkout, the child would run that checkout's ``app``. So such a child starts in the named
    checkout."""
    for entry in (env or {}).get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "app" / "__init__.py").is_file():
            return entry
    return None


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Popen (from the main thread) a child that dies with the runner and is killed at exit."""
    if "cwd" not in kwargs and (where := code_dir(kwargs.get("env"))) is not None:
        kwargs["cwd"] = where
    process = subprocess.Popen(args, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509
    _children.append(process)
    return process


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    if process in _children:
        _children.remove(process)


def kill_children() -> None:
    for process in list(_children):
        stop_process(process, timeout=5)


atexit.register(kill_children)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- databases, seed, servers -------------------------------------------------------------


_created_databases: dict[str, str] = {}  # name → admin DSN, dropped by drop_created_databases()
_RUN_DATABASE = re.compile(r"^bench_[a-z0-9_]+_([0-9]+)$")


def _admin_dsn(parsed: Any) -> str:
    return parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def recreate_database(url: str) -> None:
    """A fresh, empty database: SQLite files removed, or a PostgreSQL database dropped and
    created (and the ``bench_*_<pid>`` databases of runs no longer alive dropped)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _remove_sqlite(str(parsed.database))
        return
    import asyncpg

    name = parsed.database or ""
    if not name or name in REFUSED_DATABASES or not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to recreate database {name!r}")
    admin = _admin_dsn(parsed)
    connection = await asyncpg.connect(admin)
    try:
        for row in await connection.fetch("SELECT datname FROM pg_database"):
            found = _RUN_DATABASE.match(row["datname"])
            if found and not _alive(int(found.group(1))):
                await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
        _created_databases[name] = admin
    finally:
        await connection.close()


async def drop_created_databases() -> None:
    """Drop the PostgreSQL databases this run created (its servers have stopped by now)."""
    import asyncpg

    for name, admin in list(_created_databases.items()):
        try:
            connection = await asyncpg.connect(admin)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError):
            continue
        _created_databases.pop(name, None)


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "MADOGUCHI_DATABASE_URL": database_url,
        "MADOGUCHI_PUBLIC_BURST": "100000",
        "MADOGUCHI_PUBLIC_RATE_PER_S": "100000",
        "MADOGUCHI_KIOSK_BURST": "1000000",
        "MADOGUCHI_KIOSK_RATE_PER_S": "1000000",
        **(extra or {}),
    }


def seed_demo(
    database_url: str, extra_env: dict[str, str] | None = None, municipality: str = "431001"
) -> dict[str, Any]:
    """``madoguchi seed-demo --json`` (migrates first): office, categories, counters, tokens."""
    env = server_env(database_url, extra_env)
    done = subprocess.run(
        [sys.executable, "-m", "app", "seed-demo", "--municipality", municipality, "--json"],
        env=env,
        cwd=code_dir(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seed-demo failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class ServerProcess:
    """``python -m app serve --port P`` against ``database_url``, sampled for CPU and RSS."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[Any] | None = None
        self.sampler: ProcSampler | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = spawn(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
            env=server_env(self.database_url, self.extra_env),
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log_path}:\n{tail(self.log_path)}")
            try:
                if httpx2.get(self.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {self.log_path}")
            time.sleep(0.1)
        self.sampler = ProcSampler(self.pid).start()
        return self

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.process is not None:
            stop_process(self.process)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextmanager
def servers(
    database_url: str,
    count: int,
    workdir: Path,
    prefix: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            started.append(
                ServerProcess(database_url, workdir / f"{prefix}-{index}.log", extra_env).start()
            )
        yield started
    finally:
        for server in started:
            server.stop()


def tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return ""


# -- running ------------------------------------------------------------------------------


async def run_scenarios(names: list[str], options: BenchOptions) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    missing: list[str] = []
    try:
        for name in names:
            scenario = load_scenario(name)
            if scenario is None:
                missing.append(name)
                options.log(f"{name}: not available yet")
                continue
            options.log(
                f"{name}: {'quick' if options.quick else 'full'} run, work folder {options.workdir}"
            )
            started = time.monotonic()
            result = await scenario(options)
            result.elapsed_s = time.monotonic() - started
            results.append(result)
    finally:
        kill_children()
        await drop_created_databases()
    return results, missing


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
