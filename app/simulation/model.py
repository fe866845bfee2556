"""The central queue as a simpy model: arrivals, workers who claim by the service's rules, periods.

Time is counted in working minutes: open day ``d`` (weekends, holidays and 12/29–1/3 closed, by
app.domain.deadlines.Calendar) runs from ``d * W`` to ``(d + 1) * W`` with ``W`` the profile's
working day. What comes from app.domain, not from here:

- the steps and where each outcome leads (``next_status``, ``STEP_OF_STATUS``, ``FINAL``);
- whether a form goes to blind verify (``always_verified``: a required high-risk field);
- the queue order (``urgency_of``: earlier legal due date first, a resident waiting at the
  counter ten days ahead, forms without a clock at 14 days from receipt);
- four eyes (``excluded_from``: nobody who handled an application verifies, settles or reviews
  it), who takes which step (``OPERATOR_KINDS``, ``REVIEWER_KINDS``), the queues a claimer
  sees (``queues_for``) and where a return goes (``correction_queue``: vendor-keyed work to the
  vendor's 管理責任者, who dispatches it to the vendor's operators);
- the legal due date (``due_date`` on the procedure's own deadline rule, rolled to an open day).

Not modelled: household locks (one editor per household), lease expiry, withdrawals and
reopening, the vendor's batch export, and breaks inside the day.
"""

import heapq
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from app.domain.applications import (
    FINAL,
    OPERATOR_KINDS,
    REVIEWER_KINDS,
    STEP_OF_STATUS,
    Outcome,
    TaskKind,
    correction_queue,
    excluded_from,
    next_status,
    queues_for,
)
from app.domain.roles import Employer
from app.simulation.cases import (
    OPENING,
    POOLS,
    STEPS,
    Case,
    Days,
    arrivals,
    desk_of,
    new_case,
    received_at,
)
from app.simulation.profile import Profile

__all__ = [
    "OPENING",
    "STEPS",
    "POOLS",
    "Days",
    "Case",
    "desk_of",
    "received_at",
    "new_case",
    "arrivals",
    "Period",
    "Staffing",
    "State",
    "Worker",
    "run_period",
]


@dataclass
class Staffing:
    """How many people of each pool work on each open day (index as in Days)."""

    city_operators: list[int]
    vendor_operators: list[int]
    reviewers: list[int]

    @classmethod
    def flat(cls, days: int, operators: int, reviewers: int, vendor_share: float) -> "Staffing":
        vendor = round(operators * vendor_share)
        return cls([operators - vendor] * days, [vendor] * days, [reviewers] * days)

    def pool(self, name: str) -> list[int]:
        return list(getattr(self, name))


@dataclass
class State:
    """Work in the system at a period's boundary."""

    waiting: list[tuple[int, float, int, Case, TaskKind, str]] = field(default_factory=list)
    running: list[tuple[float, Case, TaskKind, str, str]] = field(default_factory=list)
    delayed: list[tuple[float, Case, TaskKind, str]] = field(default_factory=list)

    def copy(self) -> "State":
        twins: dict[int, Case] = {}

        def twin(case: Case) -> Case:
            if case.seq not in twins:
                twins[case.seq] = case.fresh()
            return twins[case.seq]

        return State(
            [(u, t, n, twin(c), k, q) for u, t, n, c, k, q in self.waiting],
            [(t, twin(c), k, q, w) for t, c, k, q, w in self.running],
            [(t, twin(c), k, q) for t, c, k, q in self.delayed],
        )

    def cases(self) -> Iterable[Case]:
        seen: dict[int, Case] = {}
        for entry in self.waiting:
            seen[entry[3].seq] = entry[3]
        for run in self.running:
            seen[run[1].seq] = run[1]
        for later in self.delayed:
            seen[later[1].seq] = later[1]
        return seen.values()


@dataclass
class Period:
    """What one period's run produced."""

    state: State
    finished: dict[int, float]  # case seq → working minute of its decision
    daily: list[tuple[int, int, float, float]]  # day, open tasks, mean and oldest age (days)
    busy: dict[str, float]  # pool → working minutes spent on tasks
    capacity: dict[str, float]  # pool → working minutes staffed


@dataclass(eq=False)
class Worker:
    name: str
    pool: str
    index: int
    employer: Employer
    kinds: tuple[TaskKind, ...]
    queues: tuple[str, ...]


class _Run:
    def __init__(
        self,
        profile: Profile,
        cases: Sequence[Case],
        staffing: Staffing,
        first_day: int,
        last_day: int,
        state: State,
    ) -> None:
        self.width = profile.workday_minutes
        self.dispatch = profile.rates.vendor_dispatch_days * self.width
        self.env = simpy.Environment(initial_time=first_day * self.width)
        self.end = last_day * self.width
        self.first_day, self.last_day = first_day, last_day
        self.staffing = {p: staffing.pool(p) for p in POOLS}
        self.heaps: dict[tuple[str, TaskKind], list[tuple[int, float, int, Case]]] = {}
        self.tick = 0
        self.today = first_day
        self.idle: list[tuple[Worker, simpy.Event]] = []
        self.open: dict[int, Case] = {}
        self.running: dict[int, tuple[float, Case, TaskKind, str, str]] = {}
        self.delayed: dict[int, tuple[float, Case, TaskKind, str]] = {}
        self.finished: dict[int, float] = {}
        self.daily: list[tuple[int, int, float, float]] = []
        self.busy = dict.fromkeys(POOLS, 0.0)
        for urgency, at, _n, case, kind, queue in state.waiting:
            self.open[case.seq] = case
            self._push(case, kind, queue, urgency, at)
        for finish, case, kind, queue, worker in state.running:
            self.open[case.seq] = case
            self.env.process(self._carried(finish, case, kind, queue, worker))
        for release, case, kind, queue in state.delayed:
            self.open[case.seq] = case
            self._later(release, case, kind, queue)
        self.env.process(self._arrive([c for c in cases if self.env.now <= c.received < self.end]))
        self.env.process(self._days())
        for pool in POOLS:
            for index in range(max(self.staffing[pool][first_day:last_day], default=0)):
                self.env.process(self._work(_worker(pool, index)))

    # queue ---------------------------------------------------------------------------------
    def _push(self, case: Case, kind: TaskKind, queue: str, urgency: int, at: float) -> None:
        self.tick += 1
        heapq.heappush(self.heaps.setdefault((queue, kind), []), (urgency, at, self.tick, case))
        barred = excluded_from(kind, case.handled_by)
        for position, (worker, event) in enumerate(self.idle):
            if (
                kind in worker.kinds
                and queue in worker.queues
                and worker.name not in barred
                and self._active(worker)
            ):
                del self.idle[position]
                event.succeed()
                break

    def _enqueue(self, case: Case, kind: TaskKind, queue: str) -> None:
        if queue == "vendor_manager":
            # The vendor's 管理責任者 passes the return on to the vendor's own operators.
            self._later(self.env.now + self.dispatch, case, kind, "vendor")
            return
        self._push(case, kind, queue, case.urgency, self.env.now)

    def _later(self, release: float, case: Case, kind: TaskKind, queue: str) -> None:
        def wait() -> Generator[simpy.Event, Any, None]:
            self.delayed[case.seq] = (release, case, kind, queue)
            yield self.env.timeout(max(0.0, release - self.env.now))
            del self.delayed[case.seq]
            self._push(case, kind, queue, case.urgency, self.env.now)

        self.env.process(wait())

    def _take(self, worker: Worker) -> tuple[Case, TaskKind, str] | None:
        best: tuple[int, float, int, Case] | None = None
        best_key: tuple[str, TaskKind] | None = None
        skipped: list[tuple[list[tuple[int, float, int, Case]], tuple[int, float, int, Case]]] = []
        for queue in worker.queues:
            for kind in worker.kinds:
                heap = self.heaps.get((queue, kind))
                while heap and worker.name in excluded_from(kind, heap[0][3].handled_by):
                    skipped.append((heap, heapq.heappop(heap)))
                if heap and (best is None or heap[0][:3] < best[:3]):
                    best, best_key = heap[0], (queue, kind)
        if best is not None and best_key is not None:
            heapq.heappop(self.heaps[best_key])
        for heap, entry in skipped:
            heapq.heappush(heap, entry)
        if best is None or best_key is None:
            return None
        return best[3], best_key[1], best_key[0]

    # processes -----------------------------------------------------------------------------
    def _active(self, worker: Worker) -> bool:
        return worker.index < self.staffing[worker.pool][self.today]

    def _work(self, worker: Worker) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            if not self._active(worker):
                day = int(env.now // self.width)
                yield env.timeout((day + 1) * self.width - env.now)
                continue
            taken = self._take(worker)
            if taken is None:
                event = env.event()
                self.idle.append((worker, event))
                yield event
                continue
            case, kind, queue = taken
            spent = case.minutes[STEPS.index(kind)]
            self.busy[worker.pool] += min(spent, self.end - env.now)
            self.running[case.seq] = (env.now + spent, case, kind, queue, worker.name)
            yield env.timeout(spent)
            del self.running[case.seq]
            self._finish(case, kind, worker.name, worker.employer)

    def _carried(
        self, finish: float, case: Case, kind: TaskKind, queue: str, name: str
    ) -> Generator[simpy.Event, Any, None]:
        self.running[case.seq] = (finish, case, kind, queue, name)
        yield self.env.timeout(max(0.0, finish - self.env.now))
        del self.running[case.seq]
        pool = name.split(":", 1)[0]
        employer = Employer.VENDOR if pool == "vendor_operators" else Employer.CITY
        self._finish(case, kind, name, employer)

    def _arrive(self, cases: list[Case]) -> Generator[simpy.Event, Any, None]:
        for master in cases:
            yield self.env.timeout(master.received - self.env.now)
            case = master.fresh()
            self.open[case.seq] = case
            self._push(case, TaskKind.ENTRY, "central", case.urgency, self.env.now)

    def _days(self) -> Generator[simpy.Event, Any, None]:
        for day in range(self.first_day, self.last_day):
            self.today = day
            # Everyone idle looks at the queue again when the day (and maybe the rota) changes.
            waiting, self.idle = self.idle, []
            for _worker, event in waiting:
                event.succeed()
            yield self.env.timeout((day + 1) * self.width - self.env.now - 1e-6)
            now = self.env.now
            ages = [(now - c.received) / self.width for c in self.open.values()]
            depth = sum(len(h) for h in self.heaps.values()) + len(self.running)
            depth += len(self.delayed)
            mean = sum(ages) / len(ages) if ages else 0.0
            self.daily.append((day, depth, mean, max(ages, default=0.0)))

    def _finish(self, case: Case, kind: TaskKind, name: str, employer: Employer) -> None:
        case.handled_by.append(name)
        if kind is TaskKind.ENTRY:
            case.entry_employer = employer
            outcome = Outcome.KEYED
        elif kind is TaskKind.VERIFY:
            case.verified += 1
            outcome = (
                Outcome.MISMATCHED if case.mismatch and case.verified == 1 else Outcome.MATCHED
            )
        elif kind is TaskKind.SETTLE:
            outcome = Outcome.SETTLED
        else:
            case.reviewed += 1
            if case.returned and case.reviewed == 1:
                outcome = Outcome.RETURN
            else:
                outcome = Outcome.REJECT if case.rejected else Outcome.APPROVE
        case.status = next_status(case.status, outcome, needs_verify=case.needs_verify)
        if case.status in FINAL:
            self.finished[case.seq] = self.env.now
            del self.open[case.seq]
            return
        queue = correction_queue(case.entry_employer) if outcome is Outcome.RETURN else "central"
        self._enqueue(case, STEP_OF_STATUS[case.status], queue)

    def result(self) -> Period:
        state = State(
            [(u, t, n, c, k, q) for (q, k), heap in self.heaps.items() for u, t, n, c in heap],
            list(self.running.values()),
            list(self.delayed.values()),
        )
        capacity = {
            p: float(sum(self.staffing[p][self.first_day : self.last_day]) * self.width)
            for p in POOLS
        }
        return Period(state, self.finished, self.daily, self.busy, capacity)


def _worker(pool: str, index: int) -> Worker:
    employer = Employer.VENDOR if pool == "vendor_operators" else Employer.CITY
    kinds = REVIEWER_KINDS if pool == "reviewers" else OPERATOR_KINDS
    return Worker(f"{pool}:{index}", pool, index, employer, kinds, tuple(queues_for(employer)))


def run_period(
    profile: Profile,
    cases: Sequence[Case],
    staffing: Staffing,
    first_day: int,
    last_day: int,
    state: State | None = None,
) -> Period:
    """Run open days ``first_day`` to ``last_day`` (excluded) from ``state`` (left untouched).

    ``cases`` are the desk's arrivals (only those received in the period enter). Tasks still
    in hand at the end are carried in the returned state and finish in the next period.
    """
    run = _Run(profile, cases, staffing, first_day, last_day, (state or State()).copy())
    run.env.run(until=run.end)
    return run.result()
