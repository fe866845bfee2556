"""CPU time and resident memory of a process (and optionally its children), read from /proc.

A background thread samples ``/proc/<pid>/stat`` (user + system ticks) and
``/proc/<pid>/status`` (VmRSS) every ``interval_s``. A *window* is opened with ``mark()``
and read with ``since(mark)``: CPU seconds used, average CPU in percent of one core, and the
highest RSS sampled inside the window. Linux only.
"""

import os
import threading
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    cpu_s: float  # user + system, seconds since the process started
    rss_bytes: int


@dataclass(frozen=True)
class Window:
    wall_s: float
    cpu_s: float
    cpu_pct: float  # of one core
    rss_peak_bytes: int
    rss_end_bytes: int

    @property
    def rss_peak_mb(self) -> float:
        return self.rss_peak_bytes / 2**20

    @property
    def rss_end_mb(self) -> float:
        return self.rss_end_bytes / 2**20


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def read_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        raw = handle.read()
    # The command name may contain spaces; the fields after it are fixed.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds used so far by ``pid`` and each of its live descendants, per pid."""
    found: dict[int, float] = {}
    for one in _tree(pid):
        try:
            found[one] = read_cpu_s(one)
        except (OSError, ValueError, IndexError):
            continue
    return found


def read_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sample(pid: int, include_children: bool = False) -> Sample:
    pids = _tree(pid) if include_children else [pid]
    cpu, rss = 0.0, 0
    for one in pids:
        try:
            cpu += read_cpu_s(one)
            rss += read_rss_bytes(one)
        except (OSError, ValueError, IndexError):
            continue
    return Sample(time.monotonic(), cpu, rss)


class ProcSampler:
    """Samples one process in a daemon thread until ``stop()``."""

    def __init__(self, pid: int, interval_s: float = 0.25, include_children: bool = False) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.include_children = include_children
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"procstat-{pid}", daemon=True)

    def start(self) -> "ProcSampler":
        self._take()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _take(self) -> Sample | None:
        try:
            taken = sample(self.pid, self.include_children)
        except OSError:
            return None
        with self._lock:
            self.samples.append(taken)
        return taken

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._take() is None:
                return

    def mark(self) -> Sample:
        """Open a window now (also records a sample)."""
        return self._take() or self.samples[-1]

    def since(self, start: Sample) -> Window:
        """CPU and memory from ``start`` until now."""
        end = self._take() or self.samples[-1]
        with self._lock:
            inside = [s for s in self.samples if start.at <= s.at <= end.at]
        wall = max(end.at - start.at, 1e-9)
        cpu = end.cpu_s - start.cpu_s
        return Window(
            wall_s=wall,
            cpu_s=cpu,
            cpu_pct=100.0 * cpu / wall,
            rss_peak_bytes=max(s.rss_bytes for s in inside) if inside else end.rss_bytes,
            rss_end_bytes=end.rss_bytes,
        )

    def peak_rss_bytes(self) -> int:
        with self._lock:
            return max((s.rss_bytes for s in self.samples), default=0)


def host_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, from /proc/stat)."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_of_named(name: str, cmdline_contains: str | None = None) -> dict[int, float]:
    """CPU seconds used so far, per pid, by every live process whose command name is ``name``
    and, if given, whose command line contains ``cmdline_contains`` (PostgreSQL shows
    ``postgres: USER DATABASE HOST(PORT) STATE``, so a database's backends can be picked out)."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                raw = handle.read()
        except OSError:
            continue
        if raw[raw.index("(") + 1 : raw.rindex(")")] != name:
            continue
        if cmdline_contains is not None:
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if cmdline_contains.encode() not in handle.read():
                        continue
            except OSError:
                continue
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


@dataclass(frozen=True)
class HostMark:
    at: float
    busy_s: float
    postgres_s: dict[int, float]  # per backend
    own_s: float  # this process (the load generator)


def host_mark(database: str | None = None) -> HostMark:
    postgres = cpu_of_named("postgres", f" {database} ") if database else {}
    return HostMark(time.monotonic(), host_busy_s(), postgres, read_cpu_s(os.getpid()))


def host_since(
    start: HostMark, measured_cpu_s: float, database: str | None = None
) -> dict[str, float]:
    """Where the machine's CPU went since ``start``, in % of one core: all of it, the
    PostgreSQL backends serving ``database``, this load generator, and what is left after
    ``measured_cpu_s`` (servers, swarm): other work on the host, which makes the figures noisy
    when it is large."""
    end = host_mark(database)
    wall = max(end.at - start.at, 1e-9)
    busy = end.busy_s - start.busy_s
    # Backends that ended inside the window are not counted (a lower bound, never negative).
    postgres = sum(cpu - start.postgres_s.get(pid, 0.0) for pid, cpu in end.postgres_s.items())
    own = end.own_s - start.own_s
    return {
        "busy_pct": 100 * busy / wall,
        "postgres_pct": 100 * postgres / wall,
        "generator_pct": 100 * own / wall,
        "other_pct": 100 * max(0.0, busy - postgres - own - measured_cpu_s) / wall,
    }
