"""A display's wait for a new ticket in each category, from one replay of the lobby
(``new_ticket_minutes``), is the kiosk's answer for a plain ticket issued now in that category
(``lobby_replay_minutes`` with the ticket added), on random lobbies: shared and paused counters,
residents at counters with next stops, priority tickets, appointments on time or not, tickets
sent to one counter, categories nobody serves."""

import random
import time
from datetime import UTC, datetime, timedelta

from app.domain.estimates import QueueNow, mean_open, new_ticket_estimates
from app.domain.lobby_replay import (
    CounterNow,
    LobbyNow,
    LobbyTicket,
    lobby_replay_minutes,
    new_ticket_minutes,
)
from app.domain.tickets import AppointmentWindow

NOW = datetime(2026, 3, 30, 1, 0, tzinfo=UTC)
CATEGORIES = "ABCDE"


def random_lobby(rng: random.Random) -> LobbyNow:
    counters = []
    for index in range(rng.randint(0, 5)):
        categories = frozenset(rng.sample("ABCD", rng.randint(1, 3)))  # E: nobody serves it
        busy = rng.random() < 0.5
        at = None
        if busy:
            stops = tuple(rng.sample("ABCD", rng.randint(0, 2)))
            at = LobbyTicket(f"{rng.getrandbits(128):032x}", rng.choice("ABCD"), NOW, stops=stops)
        counters.append(
            CounterNow(
                f"c{index}",
                categories,
                paused=rng.random() < 0.25,
                at_counter=at,
                busy_since=NOW - timedelta(seconds=rng.uniform(0, 900)) if busy else None,
            )
        )
    waiting = []
    for _ in range(rng.randint(0, 40)):
        queued = NOW - timedelta(seconds=rng.randint(1, 3600))
        slot = None
        if rng.random() < 0.15:
            slot = NOW + timedelta(seconds=rng.randint(-1800, 1800))
        waiting.append(
            LobbyTicket(
                f"{rng.getrandbits(128):032x}",
                rng.choice(CATEGORIES),
                queued,
                is_priority=rng.random() < 0.1,
                slot_at=slot,
                passed_by=rng.randint(0, 3),
                target_counter_id=rng.choice([c.id for c in counters])
                if counters and rng.random() < 0.1
                else None,
                stops=tuple(rng.sample("ABCD", rng.randint(0, 2))),
            )
        )
    service = {c: float(rng.randint(60, 900)) for c in "ABCD"}
    return LobbyNow(NOW, waiting, counters, service, AppointmentWindow(600, 600, 2))


def kiosk_minutes(lobby: LobbyNow, category: str) -> int | None:
    new = LobbyTicket("~new", category, NOW)
    return lobby_replay_minutes(
        LobbyNow(lobby.now, [*lobby.waiting, new], lobby.counters, lobby.service_s, lobby.window),
        "~new",
    )


def test_one_replay_gives_each_categorys_kiosk_answer_on_random_lobbies() -> None:
    rng = random.Random(19)
    for _ in range(400):
        lobby = random_lobby(rng)
        expected = {c: m for c in CATEGORIES if (m := kiosk_minutes(lobby, c)) is not None}
        assert new_ticket_minutes(lobby, CATEGORIES)[0] == expected, lobby
        # A kiosk press: the ticket just issued and a plain one after it, by the same replay.
        for issued in rng.sample(list(lobby.waiting), min(3, len(lobby.waiting))):
            assert new_ticket_minutes(lobby, CATEGORIES, issued.id) == (
                expected,
                lobby_replay_minutes(lobby, issued.id),
            ), lobby


def test_a_category_nobody_serves_falls_back_to_mean_open() -> None:
    lobby = LobbyNow(NOW, [], [CounterNow("1", frozenset("A"))], {"A": 600.0})
    queue = QueueNow(
        ahead=4, recent_service_s=[300.0], default_service_s=300, counters=0, counters_open=0
    )
    waits, _none, replayed = new_ticket_estimates(lobby, {"A": queue, "E": queue})
    assert waits == {"A": 0, "E": mean_open(queue)} == {"A": 0, "E": 20}
    assert replayed == {"A"}


def test_five_categories_of_500_waiting_replay_once_quickly() -> None:
    rng = random.Random(5)
    waiting = [
        LobbyTicket(f"{i:032x}", rng.choice(CATEGORIES), NOW - timedelta(seconds=600 - i))
        for i in range(500)
    ]
    counters = [CounterNow(str(i), frozenset(rng.sample(CATEGORIES, 2))) for i in range(6)]
    lobby = LobbyNow(NOW, waiting, counters, dict.fromkeys(CATEGORIES, 420.0))
    started = time.perf_counter()
    waits, _none = new_ticket_minutes(lobby, CATEGORIES)
    assert time.perf_counter() - started < 2.0
    assert waits.keys() == set(CATEGORIES)
