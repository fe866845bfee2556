"""The benchmark runner's lobby scenario at a tiny size on SQLite: it runs end to end, every
display gets every event in order, and the result has the figures the table prints."""

import json
from pathlib import Path

from clients.bench.lobby import run
from clients.bench.runner import BenchOptions, Row, format_table, results_json


def row(rows: list[Row], metric: str, group_part: str = "") -> Row:
    return next(r for r in rows if r.metric == metric and group_part in r.group)


async def test_lobby_scenario_tiny_on_sqlite(tmp_path: Path) -> None:
    options = BenchOptions(
        quick=True,
        dbs=["sqlite"],
        workdir=tmp_path,
        verbose=False,
        params={
            "displays": "20",
            "calls": "8",
            "interval_s": "0.1",
            "issues": "40",
            "issue_concurrency": "4",
        },
    )
    result = await run(options)
    rows = result.rows

    for metric in (
        "missed events",
        "out-of-order events",
        "displays failed, dropped or resynced",
        "request errors",
    ):
        figure = row(rows, metric)
        assert figure.value == 0 and figure.met is True, (metric, figure)
        if figure.baseline is not None:
            assert figure.baseline == 0, (metric, figure)

    deliveries = row(rows, "call deliveries measured")
    assert deliveries.value == 20 * 8 and deliveries.baseline == 20 * 8

    p50, p99, worst = (row(rows, f"call→display {q}") for q in ("p50", "p99", "max"))
    for figure in (p50, p99, worst):
        assert figure.value is not None and -50 < figure.value < 5000
        assert figure.baseline is not None and figure.ratio is not None
    assert p50.value <= p99.value <= worst.value
    assert p99.target is not None and p99.met is not None

    issue = row(rows, "ticket issue/s (no displays)")
    assert issue.value is not None and issue.value > 0 and issue.baseline and issue.target
    assert row(rows, "issue errors").value == 0
    assert row(rows, "server peak RSS (sum of processes)").value > 10
    assert row(rows, "server CPU (sum of processes)").value > 0

    table = format_table([result])
    assert "call→display p99" in table and "<= 100" in table
    document = json.loads(json.dumps(results_json([result], options, []), default=str))
    assert document["scenarios"]["lobby"]["rows"][0]["metric"] == "call→display p50"
