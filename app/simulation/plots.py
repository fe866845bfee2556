"""PNG or SVG plots of a comparison: queue depth by day, staff needed by month (Agg)."""

import io
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from app.simulation.whatif import Comparison  # noqa: E402

# matplotlib counts dates in days from 1970-01-01 (its default epoch).
EPOCH = date(1970, 1, 1)
JAPANESE_FONTS = ["Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic"]


def _font() -> None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    chosen = [name for name in JAPANESE_FONTS if name in installed]
    plt.rcParams["font.family"] = [*chosen, "sans-serif"]


def write_plots(comparison: Comparison, folder: Path) -> list[Path]:
    """depth.png and staff.png in ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, image in render_plots(comparison, "png").items():
        written.append(folder / f"{name}.png")
        written[-1].write_bytes(image)
    return written


def render_plots(comparison: Comparison, kind: str = "png") -> dict[str, bytes]:
    """The two plots, "depth" and "staff", as PNG or SVG bytes."""
    _font()
    days = comparison.days
    rendered: dict[str, bytes] = {}

    figure, axes = plt.subplots(figsize=(10, 4), dpi=110)
    pooled = [(float((days.dates[d] - EPOCH).days), n) for d, n, _m, _o in comparison.pooled.daily]
    separate = [(float((days.dates[d] - EPOCH).days), n) for d, n in comparison.separate_depth()]
    axes.plot([d for d, _ in pooled], [n for _, n in pooled], label="集約 (pooled)")
    axes.plot([d for d, _ in separate], [n for _, n in separate], label="個別 (separate desks)")
    axes.set_title(f"{comparison.profile.name}: 日ごとの未処理作業数 (open tasks at day end)")
    axes.set_ylabel("作業数 (tasks)")
    axes.legend()
    axes.xaxis_date()
    figure.autofmt_xdate()
    figure.tight_layout()
    rendered["depth"] = _save(figure, kind)

    figure, axes = plt.subplots(figsize=(10, 4), dpi=110)
    months = list(range(1, 13))
    pooled_people = [comparison.pooled.months[m - 1].plan.people for m in months]
    separate_people = [comparison.separate_plan(m).people for m in months]
    axes.bar([m - 0.2 for m in months], pooled_people, width=0.4, label="集約 (pooled)")
    axes.bar([m + 0.2 for m in months], separate_people, width=0.4, label="個別 (separate)")
    axes.set_xticks(months, [f"{m}月" for m in months])
    axes.set_title(
        f"目標 {comparison.target:.0%} 期限内処理に必要な人数 "
        f"(staff needed for {comparison.target:.0%} within due dates)"
    )
    axes.set_ylabel("入力・照合 + 審査 (operators + reviewers)")
    axes.legend()
    figure.tight_layout()
    rendered["staff"] = _save(figure, kind)
    return rendered


def _save(figure: Figure, kind: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind)
    plt.close(figure)
    return buffer.getvalue()
