"""``madoguchi-bench estimates``: a 転入 season day replayed through the HTTP API, then each wait
model's errors from the daily estimate report (GET /lobby-stats/estimates), printed and plotted.

The server runs a replayed clock (``MADOGUCHI_CLOCK__START`` at 08:30 of the next open day,
``MADOGUCHI_CLOCK__SCALE``: 120 by default, one office day in about five minutes).
Every time the server records is on that clock, so waits, estimates and errors are in the day's
own seconds: nothing to rescale. The driver paces itself by the same clock (read once from the
lobby snapshot's ``at``).

The day (seeded, reproducible): arrivals by hour with a morning peak (more in 住民異動 A, as at
the end of March); service times drawn from a log-normal distribution (right-skewed: a few long
転入 cases) whose medians differ from the categories' configured defaults; counter 2 opens at
09:30, counters 3 and 4 take lunch breaks (paused), counter 4 closes at 16:00; four residents
book 住民異動 appointments and check in at the kiosk a few minutes before their slots.
"""

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from clients.bench.runner import (
    BenchOptions,
    Result,
    Row,
    ServerProcess,
    Target,
    recreate_database,
    register,
    seed_demo,
)

TOKYO = ZoneInfo("Asia/Tokyo")
OPENS = (8, 30)
LAST_ARRIVAL_H = 16.75  # 16:45
CLOSES_H = 17.25  # 17:15: the doors close; everyone holding a ticket is still served
LATEST_H = 19.0  # the driver stops here whatever is left
# Residents arriving per hour from 08:00 (08:30 on) to 16:00: a 転入 season morning peak.
ARRIVALS_PER_HOUR = [26, 32, 26, 20, 14, 18, 16, 12, 6]
CATEGORY_MIX = {"A": 0.55, "B": 0.12, "C": 0.1, "D": 0.13, "E": 0.1}
# Real median service seconds this day (the configured defaults: A 420, B 600, C 300, D 480,
# E 240) and the log-normal spread: mean = median × e^(σ²/2), about 1.3 × the median.
SERVICE_MEDIAN_S = {"A": 540, "B": 660, "C": 280, "D": 480, "E": 220}
SIGMA = 0.72
# Counter label → (from hour, to hour) it is paused (not calling).
PAUSES = {"2": [(8.5, 9.5)], "3": [(12.0, 13.0)], "4": [(11.5, 12.5), (16.0, 24.0)]}
APPOINTMENTS = ["10:00", "11:00", "14:00", "15:00"]
MODEL_ORDER = ["lobby_replay", "mean_open", "median_configured", "fixed_default"]
PLOT_DIR = Path("docs/estimates")


def next_open_day(today: date) -> date:
    """The next weekday after ``today`` that is not a national holiday or 12/29–1/3."""
    from app.domain.deadlines import Calendar

    return Calendar().roll_forward(today + timedelta(days=1))


@dataclass
class Day:
    """The replayed clock as the driver sees it."""

    start: datetime
    scale: float
    anchor_sim: datetime = field(default_factory=lambda: datetime.now(TOKYO))
    anchor_real: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.anchor_sim + timedelta(
            seconds=(time.monotonic() - self.anchor_real) * self.scale
        )

    def at(self, hour: float) -> datetime:
        return self.start.replace(hour=0, minute=0) + timedelta(hours=hour)

    async def until(self, moment: datetime) -> None:
        delay = (moment - self.now()).total_seconds() / self.scale
        if delay > 0:
            await asyncio.sleep(delay)

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds / self.scale))


def arrivals(rng: random.Random, day: Day) -> list[tuple[datetime, str]]:
    """(moment, category prefix) of each walk-in, Poisson within each hour."""
    out = []
    for index, per_hour in enumerate(ARRIVALS_PER_HOUR):
        begin = max(8 + index, OPENS[0] + OPENS[1] / 60)
        end = min(9 + index, LAST_ARRIVAL_H)
        if end <= begin:
            continue
        moment = begin
        while True:
            moment += rng.expovariate(per_hour)
            if moment >= end:
                break
            prefix = rng.choices(list(CATEGORY_MIX), weights=list(CATEGORY_MIX.values()))[0]
            out.append((day.at(moment), prefix))
    return out


def service_s(rng: random.Random, prefix: str) -> float:
    return min(3600.0, rng.lognormvariate(math.log(SERVICE_MEDIAN_S[prefix]), SIGMA))


def paused_at(label: str, hour: float) -> bool:
    return any(begin <= hour < end for begin, end in PAUSES.get(label, []))


def _client(url: str, token: str | None = None) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.AsyncClient(base_url=url + "/api/v1", headers=headers, timeout=30)


async def replay(url: str, demo: dict[str, Any], day: Day, seed: int) -> dict[str, int]:
    """Drive the day; counts of what was done."""
    office = demo["offices"][0]
    office_id = office["id"]
    categories = {c["prefix"]: c["id"] for c in office["categories"]}
    counters = {c["label"]: c["id"] for c in office["counters"]}
    tokens = demo["tokens"]
    counts = {"issued": 0, "served": 0, "appointments": 0, "errors": 0}
    rng = random.Random(seed)
    plan = arrivals(rng, day)
    services = random.Random(seed + 1)
    closes = day.at(CLOSES_H)
    end = day.at(LATEST_H)

    async def kiosk() -> None:
        async with _client(url, tokens["kiosk"]) as client:
            for moment, prefix in plan:
                await day.until(moment)
                response = await client.post(
                    f"/offices/{office_id}/tickets", json={"category": categories[prefix]}
                )
                counts["issued" if response.status_code == 201 else "errors"] += 1

    async def appointments() -> None:
        async with _client(url) as public, _client(url, tokens["kiosk"]) as client:
            codes = []
            for slot in APPOINTMENTS:
                hour, minute = (int(p) for p in slot.split(":"))
                starts = day.start.replace(hour=hour, minute=minute)
                response = await public.post(
                    "/public/appointments",
                    json={
                        "office_id": office_id,
                        "category_id": categories["A"],
                        "starts_at": starts.isoformat(),
                        "initial": "K",
                    },
                )
                if response.status_code == 201:
                    codes.append((starts, response.json()["code"]))
                else:
                    counts["errors"] += 1
            for starts, code in codes:
                await day.until(starts - timedelta(minutes=4))
                response = await client.post(
                    f"/offices/{office_id}/appointments/check-in", json={"code": code}
                )
                counts["appointments" if response.status_code == 201 else "errors"] += 1

    async def counter(label: str) -> None:
        counter_id = counters[label]
        paused = False
        async with _client(url, tokens["counter"]) as client:
            while day.now() < end:
                hour = (day.now() - day.at(0)).total_seconds() / 3600
                want = paused_at(label, hour)
                if want != paused:
                    step = "pause" if want else "resume"
                    response = await client.post(f"/counters/{counter_id}/{step}")
                    if response.status_code == 200:
                        paused = want
                    else:
                        counts["errors"] += 1
                if paused:
                    await day.wait(60)
                    continue
                response = await client.post(f"/counters/{counter_id}/call-next")
                if response.status_code == 204:
                    if day.now() >= closes:
                        return
                    await day.wait(20)
                    continue
                if response.status_code != 200:
                    counts["errors"] += 1
                    await day.wait(20)
                    continue
                ticket = response.json()
                await day.wait(30)  # the resident walks to the counter
                await client.post(f"/tickets/{ticket['id']}/start")
                await day.wait(service_s(services, ticket["number"][0]))
                done = await client.post(f"/tickets/{ticket['id']}/finish")
                counts["served" if done.status_code == 200 else "errors"] += 1

    await asyncio.gather(kiosk(), appointments(), *(counter(label) for label in counters))
    return counts


def write_plot(report: dict[str, Any], folder: Path) -> Path:
    """MAE by hour of issue per model, and each model's bias and MAE over the day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from app.simulation.plots import _font

    _font()
    folder.mkdir(parents=True, exist_ok=True)
    labels = {m["name"]: m["label"] for m in report["models"]}
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=[3, 2])
    for name in MODEL_ORDER:
        hours = [h for h in report["hours"] if h["model"] == name]
        left.plot(
            [h["hour"] for h in hours],
            [h["estimate_mae_s"] / 60 for h in hours],
            marker="o",
            label=labels.get(name, name),
        )
    left.set_xlabel("発券時刻 (hour of issue)")
    left.set_ylabel("平均絶対誤差 分 (MAE, minutes)")
    left.set_title("時間帯別の予測誤差 (MAE by hour)")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    totals = {r["model"]: r for r in report["rows"] if r["category"] == "*"}
    names = [n for n in MODEL_ORDER if n in totals]
    xs = range(len(names))
    right.bar(
        [x - 0.2 for x in xs], [totals[n]["estimate_mae_s"] / 60 for n in names], 0.4, label="MAE"
    )
    right.bar(
        [x + 0.2 for x in xs],
        [totals[n]["estimate_bias_s"] / 60 for n in names],
        0.4,
        label="偏り (bias)",
    )
    right.set_xticks(list(xs), names, fontsize=8)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_ylabel("分 (minutes)")
    right.set_title("1日の誤差 (the day's MAE and bias)")
    right.legend(fontsize=8)
    figure.suptitle(f"待ち時間予測の比較 (wait estimates compared) {report['day']}")
    figure.tight_layout()
    path = folder / "estimates.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{'model':<20} {'n':>5} {'MAE min':>8} {'bias min':>9} {'±5 min':>7} {'±10 min':>8}"]
    for row in report["rows"]:
        if row["category"] != "*":
            continue
        lines.append(
            f"{row['model'] + (' *' if row['in_use'] else ''):<20} {row['estimates']:>5} "
            f"{row['estimate_mae_s'] / 60:>8.1f} {row['estimate_bias_s'] / 60:>9.1f} "
            f"{row['estimate_within_5min']:>7.0%} {row['estimate_within_10min']:>8.0%}"
        )
    return "\n".join(lines)


@register("estimates")
async def run(options: BenchOptions) -> Result:
    scale = options.param("scale", 120.0)
    seed = options.param("seed", 19)
    db = (options.dbs or ["sqlite"])[0]
    url = options.database_url(db, "bench_estimates")
    await recreate_database(url)
    demo = seed_demo(url)
    day_date = next_open_day(datetime.now(TOKYO).date())
    start = datetime(day_date.year, day_date.month, day_date.day, *OPENS, tzinfo=TOKYO)
    env = {"MADOGUCHI_CLOCK__START": start.isoformat(), "MADOGUCHI_CLOCK__SCALE": str(scale)}
    options.log(f"estimates: replaying {day_date} at ×{scale:g} on {db}")
    with ServerProcess(url, options.workdir / "estimates-server.log", env) as server:
        async with _client(server.url, demo["tokens"]["display"]) as display:
            office_id = demo["offices"][0]["id"]
            snapshot = (await display.get(f"/offices/{office_id}/lobby")).json()
        day = Day(start, scale, anchor_sim=datetime.fromisoformat(snapshot["at"]))
        began = time.monotonic()
        counts = await replay(server.url, demo, day, seed)
        async with _client(server.url, demo["tokens"]["supervisor"]) as supervisor:
            response = await supervisor.get(
                "/lobby-stats/estimates", params={"day": day_date.isoformat()}
            )
            response.raise_for_status()
            report = response.json()
    elapsed = time.monotonic() - began
    print(format_report(report))
    plot = write_plot(report, Path(options.param("plots", str(PLOT_DIR))))
    totals = {r["model"]: r for r in report["rows"] if r["category"] == "*"}
    naive = totals.get("fixed_default", {}).get("estimate_mae_s")
    shown = next((r["model"] for r in totals.values() if r["in_use"]), None)
    rows = [
        Row.from_rounds(
            f"MAE {name}",
            "s",
            [totals[name]["estimate_mae_s"]],
            baseline=None if name == "fixed_default" else naive,
            target=Target("<=", naive) if name == shown and naive else None,
            group=f"{db}, ×{scale:g}",
        )
        for name in MODEL_ORDER
        if name in totals
    ]
    return Result(
        "estimates",
        rows=rows,
        notes=[
            f"{counts['issued']} walk-ins, {counts['appointments']} appointments, "
            f"{counts['served']} served, {counts['errors']} errors; "
            f"day replayed in {elapsed:.0f} s (×{scale:g}); plot {plot}",
        ],
        details={"report": report, "counts": counts},
    )
