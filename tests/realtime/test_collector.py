"""The server's garbage collection policy: what lives is frozen out of the collector's scans,
and cycles that die once frozen are still given back when they pile up (memory stays bounded)."""

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from app.realtime.collector import FreezingCollector, own_memory_bytes


class Node:
    __slots__ = ("other", "payload", "__weakref__")

    def __init__(self) -> None:
        self.other: Node | None = None
        self.payload: bytearray | None = None


def cycles(count: int) -> list[Node]:
    made = []
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a
        made.append(a)
    return made


@pytest.fixture(autouse=True)
def own_collector_state() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()


def full_collection_ms() -> float:
    """The shortest of three full collections (this host is shared)."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - began) * 1000)
    return min(times)


def test_what_lives_at_a_step_is_out_of_the_full_collections_sight() -> None:
    collector = FreezingCollector(60, min_growth_objects=10**9, full_after_bytes=0)  # never in full
    connections = [{"queue": [], "frames": [b"x"]} for _ in range(100_000)]
    before = full_collection_ms()
    collector.step()
    after = full_collection_ms()
    assert collector.freezes == 1 and gc.get_freeze_count() >= 300_000
    # The scan no longer walks the 300,000 objects of the live "connections".
    assert after < before / 3, (before, after)
    assert len(connections) == 100_000


def test_cycles_that_die_after_being_frozen_are_given_back_once_they_pile_up() -> None:
    collector = FreezingCollector(60, growth=0.5, min_growth_objects=1_000, full_after_bytes=0)
    baseline = gc.get_freeze_count()
    collector._after_full = baseline  # the process's own objects, frozen at start-up
    made = cycles(max(5_000, baseline))  # more than half as much again as what is frozen
    watched = [weakref.ref(node) for node in made[:100]]
    collector.step()  # alive: frozen
    assert collector.freezes == 1 and collector.full_collections == 0
    del made
    gc.collect()
    # Frozen cycles are out of an ordinary collection's reach: still there.
    assert all(ref() is not None for ref in watched)
    collector.step()  # the frozen set has grown by more than half: one full collection
    assert collector.full_collections == 1
    assert all(ref() is None for ref in watched)
    assert gc.get_freeze_count() < baseline + 1_000


def test_few_frozen_cycles_holding_much_memory_are_given_back_once_memory_has_grown() -> None:
    """What a closed connection leaves in cycles is a few objects holding its buffers: far from
    doubling the frozen objects, they still take memory. Once the process's own memory has
    grown by the threshold since the last full collection, the next step collects in full and
    the frozen cycles are given back. (The reading is the test's: how much a process's resident
    memory moves depends on what its allocator kept from earlier tests.)"""
    reading = [100 * 2**20]
    collector = FreezingCollector(
        60, min_growth_objects=10**9, full_after_bytes=16 * 2**20, memory=lambda: reading[0]
    )
    made = cycles(200)
    watched = [weakref.ref(node) for node in made[:50]]
    collector.step()  # alive: frozen; memory as it was: a freeze only
    assert (collector.freezes, collector.full_collections) == (1, 0)
    del made
    gc.collect()
    assert all(ref() is not None for ref in watched)  # frozen: out of an ordinary collection
    reading[0] += 8 * 2**20
    collector.step()  # grown by less than the threshold: still a freeze only
    assert collector.full_collections == 0
    assert all(ref() is not None for ref in watched)
    reading[0] += 9 * 2**20
    collector.step()  # 17 MB over the last full collection's reading: collect in full
    assert collector.full_collections == 1
    assert all(ref() is None for ref in watched)
    collector.step()  # measured again after that collection: no growth since
    assert collector.full_collections == 1


def test_the_process_memory_reading_is_its_anonymous_resident_memory() -> None:
    """The reading leaves out mapped files (libraries, the speech dictionary): it is what the
    kernel reports as RssAnon."""
    with open("/proc/self/status") as status:
        anon_kb = next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))
    assert abs(own_memory_bytes() - anon_kb * 1024) < 8 * 2**20
