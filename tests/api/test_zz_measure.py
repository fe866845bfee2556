import time
from typing import Any

from sqlalchemy import event

from tests.api.test_lobby_estimates import issue
from tests.support import Office, make_settings, run_server, seed
from tests.support_thread import FakeClock, office_hours_today


async def test_measure(clean_db: str) -> None:
    clock = FakeClock(office_hours_today())
    async with run_server(make_settings(clean_db), clock=clock) as server:
        office = Office(await seed(clean_db))
        engine = server.app.state.resources.engine.sync_engine
        for waiting in (0, 60):
            while True:
                async with server.client(office.token("display")) as d:
                    snap = (await d.get(f"/offices/{office.id}/lobby")).json()
                if sum(q["waiting"] for q in snap["queues"]) >= waiting + 2:
                    break
                await issue(server, office, clock)
            for what in ("press", "call"):
                statements: list[str] = []
                def count(_c: Any, _cu: Any, s: str, *_a: Any) -> None:
                    statements.append(s)
                times = []
                for i in range(6):
                    if i == 5:
                        event.listen(engine, "before_cursor_execute", count)
                    t0 = time.perf_counter()
                    if what == "press":
                        await issue(server, office, clock)
                    else:
                        async with server.client(office.token("counter")) as c:
                            r = await c.post(f"/counters/{office.counter('1')}/call-next")
                            assert r.status_code == 200
                            times.append(time.perf_counter() - t0)
                            if i == 5:
                                event.remove(engine, "before_cursor_execute", count)
                            await c.post(f"/tickets/{r.json()['id']}/cancel")
                        continue
                    times.append(time.perf_counter() - t0)
                    if i == 5:
                        event.remove(engine, "before_cursor_execute", count)
                on_t = [s for s in statements if "ticket" in s.lower() and "event_log" not in s]
                print(f"\nMEASURE waiting~{waiting} {what}: statements={len(statements)} "
                      f"ticket-stmts={len(on_t)} median_ms={sorted(times)[2]*1000:.1f}")
