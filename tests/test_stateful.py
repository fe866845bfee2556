"""Random sequences of lobby and queue commands against the live service, checked against models."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.domain.tickets import TRANSITIONS, TicketAction, TicketStatus
from tests.support import make_settings, seed
from tests.support_thread import FakeClock, office_hours_today, threaded_server

PATHS = {
    TicketAction.RECALL: "recall",
    TicketAction.START: "start",
    TicketAction.FINISH: "finish",
    TicketAction.NO_SHOW: "no-show",
    TicketAction.CANCEL: "cancel",
}


class Lobby(RuleBasedStateMachine):
    """Model: tickets with status, category, target counter, queue order; counters serve
    prefixes."""

    server: Any = None
    admin_token = ""
    counter_token = ""
    kiosk_token = ""

    @initialize()
    def open_office(self) -> None:
        admin = httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        self.office = admin.post(
            "/admin/offices", json={"name_ja": "支所", "name_en": "Branch"}
        ).json()["id"]
        self.categories = {
            p: admin.post(
                f"/admin/offices/{self.office}/categories",
                json={"prefix": p, "name_ja": p, "name_en": p},
            ).json()["id"]
            for p in "AB"
        }
        self.counters = {}
        for label, prefixes in (("1", "A"), ("2", "AB")):
            self.counters[label] = admin.post(
                f"/admin/offices/{self.office}/counters",
                json={
                    "label": label,
                    "name_ja": label,
                    "name_en": label,
                    "categories": [self.categories[p] for p in prefixes],
                },
            ).json()["id"]
        self.serves = {"1": {"A"}, "2": {"A", "B"}}
        tokens = {}
        for role in ("kiosk", "counter", "display"):
            tokens[role] = admin.post(
                "/admin/tokens", json={"role": role, "name": role, "office_id": self.office}
            ).json()["token"]
        admin.close()
        self.kiosk = httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {tokens['kiosk']}"},
        )
        self.counter = httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {tokens['counter']}"},
        )
        self.display = httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {tokens['display']}"},
        )
        self.tickets: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.numbers = {"A": 0, "B": 0}
        self.events = 0

    def teardown(self) -> None:
        for client in ("kiosk", "counter", "display"):
            if hasattr(self, client):
                getattr(self, client).close()

    @rule(prefix=st.sampled_from("AB"), priority=st.booleans())
    def issue(self, prefix: str, priority: bool) -> None:
        response = self.kiosk.post(
            f"/offices/{self.office}/tickets",
            json={"category": self.categories[prefix], "is_priority": priority},
        )
        assert response.status_code == 201
        self.numbers[prefix] += 1
        ticket = response.json()
        assert ticket["number"] == f"{prefix}-{self.numbers[prefix]:03d}"
        self.tickets[ticket["id"]] = {
            "status": "waiting",
            "category": prefix,
            "priority": priority,
            "target": None,
        }
        self.order.append(ticket["id"])
        self.events += 1

    @rule(label=st.sampled_from(["1", "2"]))
    def call_next(self, label: str) -> None:
        eligible = [
            t
            for t in self.order
            if self.tickets[t]["status"] == "waiting"
            and (
                self.tickets[t]["target"] == label
                or (
                    self.tickets[t]["target"] is None
                    and self.tickets[t]["category"] in self.serves[label]
                )
            )
        ]
        eligible.sort(key=lambda t: (not self.tickets[t]["priority"], self.order.index(t)))
        response = self.counter.post(f"/counters/{self.counters[label]}/call-next")
        if not eligible:
            assert response.status_code == 204
            return
        assert response.status_code == 200, response.text
        assert response.json()["id"] == eligible[0]
        self.tickets[eligible[0]].update(status="called", target=None)
        self.events += 1

    @precondition(lambda self: bool(self.tickets))
    @rule(data=st.data(), action=st.sampled_from(list(PATHS)))
    def act(self, data: st.DataObject, action: TicketAction) -> None:
        ticket_id = data.draw(st.sampled_from(self.order))
        model = self.tickets[ticket_id]
        expected = TRANSITIONS.get((TicketStatus(model["status"]), action))
        response = self.counter.post(f"/tickets/{ticket_id}/{PATHS[action]}")
        if expected is None:
            assert response.status_code == 409
        else:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == expected
            model["status"] = expected.value
            self.events += 1

    @precondition(lambda self: bool(self.tickets))
    @rule(data=st.data(), to=st.sampled_from(["A", "B", "1", "2"]))
    def transfer(self, data: st.DataObject, to: str) -> None:
        ticket_id = data.draw(st.sampled_from(self.order))
        model = self.tickets[ticket_id]
        body = {"category": self.categories[to]} if to in "AB" else {"counter": self.counters[to]}
        response = self.counter.post(f"/tickets/{ticket_id}/transfer", json=body)
        if (TicketStatus(model["status"]), TicketAction.TRANSFER) not in TRANSITIONS:
            assert response.status_code == 409
            return
        assert response.status_code == 200, response.text
        model["status"] = "waiting"
        if to in "AB":
            model.update(category=to, target=None)
        else:
            model["target"] = to
        self.events += 1

    @invariant()
    def lobby_matches_the_model(self) -> None:
        if not hasattr(self, "display"):
            return
        snapshot = self.display.get(f"/offices/{self.office}/lobby").json()
        assert snapshot["seq"] == self.events
        waiting = {q["prefix"]: q["waiting"] for q in snapshot["queues"]}
        for prefix in "AB":
            assert waiting[prefix] == sum(
                1
                for t in self.tickets.values()
                if t["status"] == "waiting" and t["category"] == prefix
            )
        at_counters = {c["number"] for c in snapshot["called"]}
        assert len(at_counters) == sum(
            1 for t in self.tickets.values() if t["status"] in ("called", "serving")
        )


@pytest.fixture
def lobby_machine(clean_db: str):  # type: ignore[no-untyped-def]
    with threaded_server(make_settings(clean_db)) as (server, loop):
        data = asyncio.run_coroutine_threadsafe(seed(clean_db), loop).result(30)
        Lobby.server = server
        Lobby.admin_token = data["tokens"]["admin"]
        yield Lobby


def test_random_lobby_sequences_match_the_model(lobby_machine: type[Lobby]) -> None:
    run = settings(
        max_examples=15,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(lobby_machine)
    run.TestCase().runTest()


class WorkQueue(RuleBasedStateMachine):
    """Model of entry tasks under leases: open, leased (holder, expiry), done."""

    server: Any = None
    clock: Any = None
    loop: Any = None
    database_url = ""
    municipalities = 0
    lease_s = 60

    @initialize()
    def load(self) -> None:
        """A municipality of its own for every example, so examples never share tasks."""
        from app.domain.municipalities import municipality_check_digit
        from tests.factories import status_report

        WorkQueue.municipalities += 1
        first5 = f"{20000 + WorkQueue.municipalities}"
        code = first5 + str(municipality_check_digit(first5))
        data = asyncio.run_coroutine_threadsafe(seed(self.database_url, code), self.loop).result(30)
        with httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {data['tokens']['admin']}"},
        ) as admin:
            tokens = {
                who: admin.post(
                    "/admin/tokens", json={"role": "operator", "name": who, "employer": "city"}
                ).json()["token"]
                for who in "ab"
            }
        self.clients = {
            name: httpx2.Client(
                base_url=self.server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}
            )
            for name, token in tokens.items()
        }
        with httpx2.Client(
            base_url=self.server.url + "/api/v1",
            headers={"Authorization": f"Bearer {data['tokens']['intake']}"},
        ) as intake:
            self.ids = set()
            for n in range(4):
                body = status_report(
                    applicant={"family_name": "佐藤", "household_ref": f"{id(self)}-{n}"}
                )
                self.ids.add(intake.post("/applications", json=body).json()["id"])
        self.tasks: dict[str, dict[str, Any]] = {}

    def teardown(self) -> None:
        for client in getattr(self, "clients", {}).values():
            client.close()

    def available(self) -> set[str]:
        now = self.clock.now()
        return {t for t, m in self.tasks.items() if m["status"] == "leased" and m["expires"] <= now}

    @rule(who=st.sampled_from(["a", "b"]))
    def claim(self, who: str) -> None:
        response = self.clients[who].post("/work/claim", json={"kinds": ["entry"]})
        reopened = self.available()
        untouched = len(self.ids) - len(self.tasks)
        if not reopened and untouched == 0:
            assert response.status_code == 204
            return
        assert response.status_code == 200, response.text
        task = response.json()
        assert task["application_id"] in self.ids
        if task["id"] in self.tasks:
            assert task["id"] in reopened  # only an expired lease is handed out again
        self.tasks[task["id"]] = {
            "status": "leased",
            "holder": who,
            "token": task["lease_token"],
            "expires": self.clock.now() + timedelta(seconds=self.lease_s),
            "values": task["form"]["values"],
        }

    def _held(self, who: str) -> list[str]:
        return [t for t, m in self.tasks.items() if m["status"] == "leased"]

    @precondition(
        lambda self: any(m["status"] == "leased" for m in getattr(self, "tasks", {}).values())
    )
    @rule(
        data=st.data(),
        who=st.sampled_from(["a", "b"]),
        action=st.sampled_from(["heartbeat", "submit", "release"]),
    )
    def act(self, data: st.DataObject, who: str, action: str) -> None:
        task_id = data.draw(st.sampled_from(sorted(self._held(who))))
        model = self.tasks[task_id]
        body: dict[str, Any] = {"lease_token": model["token"]}
        if action == "submit":
            body["values"] = model["values"]
        response = self.clients[who].post(f"/work/{task_id}/{action}", json=body)
        valid = model["holder"] == who and model["expires"] > self.clock.now()
        if not valid:
            assert response.status_code == 409, response.text
            return
        assert response.status_code == 200, response.text
        if action == "heartbeat":
            model["expires"] = self.clock.now() + timedelta(seconds=self.lease_s)
        elif action == "submit":
            model["status"] = "done"
        else:
            del self.tasks[task_id]

    @rule(seconds=st.sampled_from([10, 45, 90]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @invariant()
    def nothing_done_twice(self) -> None:
        done = [t for t, m in getattr(self, "tasks", {}).items() if m["status"] == "done"]
        assert len(done) == len(set(done))


@pytest.fixture
def queue_machine(clean_db: str):  # type: ignore[no-untyped-def]
    from app.settings import QueueSettings

    clock = FakeClock(office_hours_today())
    with threaded_server(make_settings(clean_db, queue=QueueSettings(lease_s=60)), clock) as (
        server,
        loop,
    ):
        WorkQueue.server, WorkQueue.clock, WorkQueue.loop = server, clock, loop
        WorkQueue.database_url = clean_db
        yield WorkQueue


def test_random_lease_sequences_match_the_model(queue_machine: type[WorkQueue]) -> None:
    run = settings(
        max_examples=12,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(queue_machine)
    run.TestCase().runTest()
