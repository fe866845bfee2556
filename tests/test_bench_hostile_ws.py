"""The hostile_ws bench scenario at a tiny size on SQLite: it runs end to end, the healthy
displays get every event beside the bad clients, and the figures are there."""

from pathlib import Path

from clients.bench.hostile_ws import run
from clients.bench.runner import BenchOptions, Row


def row(rows: list[Row], metric: str) -> Row:
    return next(r for r in rows if r.metric == metric)


async def test_hostile_ws_scenario_tiny_on_sqlite(tmp_path: Path) -> None:
    options = BenchOptions(
        quick=True,
        dbs=["sqlite"],
        workdir=tmp_path,
        verbose=False,
        params={
            "displays": "20",
            "bad": "6",
            "calls": "8",
            "interval_s": "0.1",
            "history": "600",
            "env.MADOGUCHI_DISPLAY__SEND_TIMEOUT_S": "1",
        },
    )
    result = await run(options)
    rows = result.rows
    for metric in (
        "missed events (healthy displays)",
        "healthy displays failed, dropped or resynced",
        "request errors",
    ):
        figure = row(rows, metric)
        assert figure.value == 0 and figure.baseline == 0 and figure.met is True, (metric, figure)
    p99 = row(rows, "call→display p99")
    assert p99.value is not None and p99.baseline is not None and p99.target is not None
    assert row(rows, "bad clients' connections (reconnects included)").value >= 6
    assert row(rows, "server peak RSS").value > 10
