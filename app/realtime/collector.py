"""Keeping the garbage collector's full collections short while displays are connected.

Each open lobby websocket is about 260 objects the collector tracks (tasks, coroutines, queues,
the protocol's buffers), and CPython's full collection scans every one of them: with 1,200
connections a full collection stops the event loop for 100–400 ms on a busy 2-core host, and
every display's next event waits for it (README, Performance). CPython runs one whenever a
quarter more objects have survived into its oldest generation, which displays that reconnect
all along (bad ones included) bring about every minute or so.

So every ``freeze_every_s`` seconds whatever is alive is frozen (``gc.freeze``, which costs
nothing): connections that stay are out of the scans' sight, and the collections CPython still
runs look only at what came since. A frozen connection that closes is still freed at once by
reference counting: it leaves about six objects in reference cycles (the transport and its
socket), which only a full collection over the frozen objects finds. So once the frozen objects
have doubled since the last full collection, one full collection (``gc.unfreeze``, collect,
freeze again) gives that memory back. Memory stays bounded; the long pause comes when the
population has doubled, not every minute.

Counting objects alone is not enough: the few objects a closed connection leaves in cycles hold
its buffers (about 5 kB), and what start-up froze (hundreds of thousands of objects that never
die) sets the "doubled" bar so high that a lobby with displays reconnecting all day grew by
tens of megabytes an hour before its first full collection (README, Reliability). So a full
collection also runs once the process's own memory (resident, not shared with other processes)
has grown by ``full_after_bytes`` since the last one, at most once a step.
"""

import asyncio
import gc
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)

# Objects the frozen set may grow by before a full collection, at least: below this the
# pause is short anyway.
MIN_GROWTH_OBJECTS = 20_000
# Growth of the process's own memory after which a full collection runs (the default).
FULL_AFTER_BYTES = 32 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def own_memory_bytes() -> int:
    """Resident memory not shared with other processes (anonymous pages, in practice): what
    garbage occupies, without the mapped files (libraries, the speech dictionary)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            fields = statm.read().split()
        return (int(fields[1]) - int(fields[2])) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class FreezingCollector:
    def __init__(
        self,
        freeze_every_s: float,
        growth: float = 1.0,
        min_growth_objects: int = MIN_GROWTH_OBJECTS,
        full_after_bytes: int = FULL_AFTER_BYTES,
        memory: Callable[[], int] = own_memory_bytes,
    ) -> None:
        self.freeze_every_s = freeze_every_s
        self.growth = growth
        self.min_growth_objects = min_growth_objects
        self.full_after_bytes = full_after_bytes
        self._memory = memory
        self._after_full = gc.get_freeze_count()
        self._memory_after_full = memory()
        self.freezes = 0
        self.full_collections = 0

    def step(self) -> None:
        """Freeze what is alive now, or collect in full when the frozen set has grown enough."""
        frozen = gc.get_freeze_count()
        grown = frozen - self._after_full
        doubled = grown > self.min_growth_objects and grown > self.growth * self._after_full
        memory = self._memory()
        swollen = 0 < self.full_after_bytes < memory - self._memory_after_full
        if doubled or swollen:
            gc.unfreeze()
            gc.collect()
            self.full_collections += 1
            gc.freeze()
            self._after_full = gc.get_freeze_count()
            self._memory_after_full = self._memory()
            log.debug(
                "full collection: %d objects frozen before, %d after", frozen, self._after_full
            )
            return
        gc.freeze()
        self.freezes += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.freeze_every_s)
            self.step()
