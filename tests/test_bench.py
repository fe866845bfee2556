"""The benchmark runner's lobby scenario at a tiny size on SQLite: it runs end to end, every
display gets every event in order, and the result has the figures the table prints."""

import json
import subprocess
import sys
from pathlib import Path

from clients.bench.lobby import run
from clients.bench.runner import BenchOptions, Row, format_table, results_json, spawn


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


def test_the_queue_and_intake_benchmarks_send_forms_an_operator_can_submit_as_they_are() -> None:
    """The queue benchmark submits each form as keyed: a sample line with an error (a My Number
    whose check digit is wrong) would be refused at every submit and the benchmark would
    measure nothing."""
    from datetime import date

    from app.domain.catalogue import load_catalogue
    from app.domain.fields import validate_fields
    from clients.bench.intake import status_report_line

    body = json.loads(status_report_line(7))
    procedure = load_catalogue().get(body["procedure"])
    _, problems = validate_fields(procedure, body["fields"], date(2026, 8, 20))
    assert [p for p in problems if p.level == "error"] == []


def test_servers_run_the_checkout_named_by_pythonpath(tmp_path: Path) -> None:
    """``--opt env.PYTHONPATH=<other checkout>``: the servers start in that checkout, since
    ``python -m app`` would otherwise run the code of the folder the bench was started from."""
    other = tmp_path / "other"
    (other / "app").mkdir(parents=True)
    (other / "app" / "__init__.py").write_text("")
    (other / "app" / "__main__.py").write_text("print('other checkout')\n")
    child = spawn(
        [sys.executable, "-m", "app"],
        env={"PYTHONPATH": str(other), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = child.communicate(timeout=30)
    assert out.strip() == "other checkout"
