"""The staffing what-if: seasons, the service's rules inside the model, the command."""

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner, Result

from app.cli import cli
from app.simulation.model import Case, Days, Staffing, arrivals, new_case, run_period
from app.simulation.profile import Plan, WeekPlan, load_profile
from app.simulation.whatif import evaluate

WIDTH = 465


def test_the_same_seed_gives_the_same_year_and_another_seed_another() -> None:
    profile = load_profile().scaled(20_000)
    days = Days(profile.year)

    def year(seed: int) -> tuple[list[tuple[str, float, float]], dict[int, float]]:
        cases = arrivals(profile, days, seed)
        staffing = Staffing.flat(len(days.dates), operators=5, reviewers=2, vendor_share=0.4)
        finished = run_period(profile, cases, staffing, 0, days.months[3][-1] + 1).finished
        return [(c.procedure, c.received, c.due) for c in cases], finished

    assert year(7) == year(7)
    assert year(7)[0] != year(8)[0]


def test_the_default_profile_peaks_when_domain_md_says() -> None:
    profile = load_profile().scaled(100_000)
    days = Days(profile.year)
    cases = arrivals(profile, days, 1)
    month = Counter((c.procedure, days.month_of(int(c.received // WIDTH))) for c in cases)
    moves = [month["resident.move_in", m] for m in range(1, 13)]
    assert 0.22 < (moves[2] + moves[3]) / sum(moves) < 0.32  # March–April, DOMAIN.md §2
    for code, peak in (("child_allowance.status_report", 6), ("child_rearing.status_report", 8)):
        in_year = sum(n for (c, _m), n in month.items() if c == code)
        assert in_year > 0 and month[code, peak] == in_year
    # 児童扶養手当 現況届: due 31 August, a Sunday in 2025, so the next open day (rolled).
    rearing = [c for c in cases if c.procedure == "child_rearing.status_report"]
    assert {days.dates[int(c.due // WIDTH) - 1].isoformat() for c in rearing} == {"2025-09-01"}


def _mismatch(days: Days, first: int) -> list[Case]:
    case = new_case(
        "resident.move_within",
        {"move_date": days.dates[first].isoformat()},
        first * WIDTH + 1,
        days,
        WIDTH,
        (10.0, 5.0, 5.0, 5.0),
        waiting=False,
        needs_verify=True,
        mismatch=True,
    )
    return [case]


def test_four_eyes_a_mismatch_needs_a_third_operator() -> None:
    profile = load_profile()
    days = Days(2025)
    first = days.months[5][0]
    cases = _mismatch(days, first)
    two = Staffing.flat(len(days.dates), operators=2, reviewers=1, vendor_share=0.0)
    stuck = run_period(profile, cases, two, first, first + 5)
    assert stuck.finished == {}
    waiting = [(kind, case.handled_by) for _u, _t, _n, case, kind, _q in stuck.state.waiting]
    assert waiting == [("settle", ["city_operators:0", "city_operators:1"])]

    three = Staffing.flat(len(days.dates), operators=3, reviewers=1, vendor_share=0.0)
    done = run_period(profile, cases, three, first, first + 5)
    assert list(done.finished) == [cases[0].seq]


def test_a_vendor_keyed_return_waits_for_the_vendors_manager() -> None:
    profile = load_profile()
    days = Days(2025)
    first = days.months[5][0]
    case = _mismatch(days, first)[0]
    case.mismatch, case.returned = False, True
    city = Staffing.flat(len(days.dates), operators=4, reviewers=2, vendor_share=0.0)
    vendor = Staffing.flat(len(days.dates), operators=4, reviewers=2, vendor_share=1.0)
    by_city = run_period(profile, [case], city, first, first + 5).finished[case.seq]
    by_vendor = run_period(profile, [case], vendor, first, first + 5).finished[case.seq]
    # The return goes to the 管理責任者, who passes it on half a working day later.
    dispatch = profile.rates.vendor_dispatch_days * WIDTH
    assert abs(by_vendor - by_city - dispatch) < 1e-6


def whatif(*args: str) -> Result:
    return CliRunner().invoke(cli, ["whatif", *args])


def test_the_command_prints_pooled_beside_separate_and_draws_plots(tmp_path: Path) -> None:
    done = whatif("--population", "20000", "--seed", "3", "--plots", str(tmp_path))
    assert done.exit_code == 0, done.output
    rows = [line for line in done.output.splitlines() if line.startswith("| ")]
    months = [r for r in rows if r.split("|")[1].strip().isdigit()]
    assert len(months) == 12 + 12  # the comparison and the pooled desk's details
    total = next(r for r in rows if r.startswith("| 計"))
    cells = [c.strip() for c in total.split("|")[1:-1]]
    pooled, separate = int(cells[2]), int(cells[4])
    assert pooled < separate  # one pooled desk needs fewer people than three
    assert cells[3].endswith("%") and float(cells[3][:-1]) >= 99.0
    for name in ("depth.png", "staff.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_profile_with_an_unknown_procedure_is_refused(tmp_path: Path) -> None:
    profile = json.loads(
        (Path("app/simulation/profiles/city_700k.json")).read_text(encoding="utf-8")
    )
    profile["procedures"]["resident.teleport"] = profile["procedures"]["resident.move_in"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    done = whatif("--profile", str(path))
    assert done.exit_code == 2
    assert "resident.teleport" in done.output


def test_a_weekly_plan_without_reviewers_in_a_peak_week_misses_due_dates_there() -> None:
    profile = load_profile().scaled(20_000)
    days = Days(profile.year)
    cases = arrivals(profile, days, 5)
    staffed = WeekPlan(operators=5, reviewers=2, vendor_share=0.4)
    steady = evaluate(profile, days, cases, Plan(default=staffed))
    gap = Plan(default=staffed, weeks={w: WeekPlan(operators=5, reviewers=0) for w in (35, 36)})
    short = evaluate(profile, days, cases, gap)
    assert [m.share for m in steady.months] == [1.0] * 12
    # 児童扶養手当 現況届, due 1 September (ISO week 36), wait for the reviewers to come back.
    assert short.months[8].share < 0.9
    assert [m.share for m in short.months[:8]] == [1.0] * 8
    assert short.months[8].utilisation["reviewers"] > steady.months[8].utilisation["reviewers"]
