"""Synthetic printed 住民異動届 pages for the OCR reader, with their truth.

    python -m clients.ocr_forms --pages 100 --out /tmp/forms   # generate, read, print accuracy

Each page is the template filled with made-up data in Noto Sans CJK (Debian fonts-noto-cjk),
at the template's resolution (200 dpi), optionally rotated and speckled like a scan. Printed
text only: handwriting is beyond Tesseract and is not claimed.
"""

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from app.domain.ocr import FormTemplate, load_templates

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "中村", "小林", "加藤"]
FAMILY_KANA = [
    "ヤマダ",
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "ワタナベ",
    "イトウ",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
]
GIVEN = ["太郎", "花子", "健一", "美咲", "翔太", "陽菜", "大輔", "結衣", "直樹", "由美"]
GIVEN_KANA = [
    "タロウ",
    "ハナコ",
    "ケンイチ",
    "ミサキ",
    "ショウタ",
    "ヒナ",
    "ダイスケ",
    "ユイ",
    "ナオキ",
    "ユミ",
]
PLACES = ["熊本市中央区手取本町", "熊本市東区月出", "福岡市博多区博多駅前", "北九州市小倉北区城内"]


@dataclass
class Page:
    image: Image.Image
    truth: dict[str, str]


def truth_for(rng: random.Random) -> dict[str, str]:
    f, g = rng.randrange(10), rng.randrange(10)
    name = f"{FAMILY[f]} {GIVEN[g]}"
    return {
        "filing_date": f"令和8年{rng.randint(1, 11)}月{rng.randint(1, 28)}日",
        "filer_name": name,
        "filer_phone": f"0{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "move_date": f"令和8年{rng.randint(1, 11)}月{rng.randint(1, 28)}日",
        "new_postal_code": f"{rng.randint(800, 899)}-{rng.randint(0, 9999):04d}",
        "new_address": f"{rng.choice(PLACES)}{rng.randint(1, 9)}丁目",
        "previous_postal_code": f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
        "previous_address": f"{rng.choice(PLACES)}{rng.randint(1, 9)}丁目",
        "household_head_name": name,
        "previous_resident_code": "".join(str(rng.randint(0, 9)) for _ in range(11)),
        "members[0].name": name,
        "members[0].kana": f"{FAMILY_KANA[f]} {GIVEN_KANA[g]}",
        "members[0].birth_date": (
            f"昭和{rng.randint(30, 63)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
        ),
    }


def render(
    template: FormTemplate,
    truth: dict[str, str],
    *,
    angle: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> Image.Image:
    """The filled page (greyscale), rotated by ``angle`` degrees, with salt-and-pepper noise."""
    page = Image.new("L", (template.width, template.height), 255)
    draw = ImageDraw.Draw(page)
    label_font = ImageFont.truetype(FONT, 30)
    value_font = ImageFont.truetype(FONT, 44)
    side = template.mark_size * template.width
    for x, y in template.mark_points():
        draw.rectangle((x - side / 2, y - side / 2, x + side / 2, y + side / 2), fill=0)
    draw.text((template.width * 0.3, template.height * 0.06), template.title_ja, font=value_font)
    for field in template.fields:
        left, top, right, bottom = field.box(template.width, template.height)
        draw.text((template.width * 0.08, top + 30), field.label_ja, font=label_font, fill=0)
        draw.line((left, bottom + 24, right, bottom + 24), fill=0, width=2)
        value = truth.get(field.path, "")
        draw.text((left + 20, top + 22), value, font=value_font, fill=0)
    if angle:
        page = page.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255, expand=False)
    if noise:
        rng = random.Random(seed)
        pixels = page.load()
        assert pixels is not None
        for _ in range(int(noise * template.width * template.height)):
            x, y = rng.randrange(template.width), rng.randrange(template.height)
            pixels[x, y] = 0 if rng.random() < 0.5 else 255
    return page


def generate(count: int, *, seed: int = 1, skew: float = 1.5, noise: float = 0.002) -> list[Page]:
    template = load_templates()["resident.move_in.v1"]
    rng = random.Random(seed)
    pages = []
    for n in range(count):
        truth = truth_for(rng)
        angle = rng.uniform(-skew, skew) if skew else 0.0
        pages.append(Page(render(template, truth, angle=angle, noise=noise, seed=n), truth))
    return pages


def write(pages: list[Page], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages):
        page.image.save(folder / f"form-{n:04d}.png", dpi=(200, 200))
        (folder / f"form-{n:04d}.truth.json").write_text(
            json.dumps(page.truth, ensure_ascii=False), encoding="utf-8"
        )


def measure(pages: list[Page], threshold: float) -> dict[str, Any]:
    """Exact-match rate per script, and the share of all fields read wrong yet not flagged
    low-confidence; both also with blanks ignored (blanks are not read: app/services/ocr.py)."""
    from app.services.ocr import TesseractEngine, read_aligned

    template = load_templates()["resident.move_in.v1"]
    engine = TesseractEngine()
    scripts = {f.path: f.script for f in template.fields}
    totals: dict[str, list[int]] = {}
    loose: dict[str, int] = {}
    wrong_unflagged = loose_unflagged = fields = 0
    started = time.perf_counter()
    for page in pages:
        readings = read_aligned(engine, page.image, template)
        for path, reading in readings.items():
            exact = reading.text == page.truth[path]
            count = totals.setdefault(scripts[path], [0, 0])
            count[0] += exact
            count[1] += 1
            loose[scripts[path]] = loose.get(scripts[path], 0) + (
                reading.text == page.truth[path].replace(" ", "")
            )
            fields += 1
            if not exact and reading.confidence >= threshold:
                wrong_unflagged += 1
                loose_unflagged += reading.text != page.truth[path].replace(" ", "")
    elapsed = time.perf_counter() - started
    return {
        "pages": len(pages),
        "exact": {s: round(ok / n, 4) for s, (ok, n) in sorted(totals.items())},
        "exact_ignoring_blanks": {
            s: round(loose[s] / n, 4) for s, (_ok, n) in sorted(totals.items())
        },
        "wrong_unflagged": round(wrong_unflagged / fields, 4),
        "wrong_unflagged_ignoring_blanks": round(loose_unflagged / fields, 4),
        "seconds_per_page": round(elapsed / max(1, len(pages)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skew", type=float, default=1.5, help="largest rotation, degrees")
    parser.add_argument("--noise", type=float, default=0.002, help="share of speckled pixels")
    parser.add_argument("--threshold", type=float, default=0.9, help="low-confidence below")
    parser.add_argument("--out", type=Path, help="also write the pages and truth here")
    args = parser.parse_args()
    pages = generate(args.pages, seed=args.seed, skew=args.skew, noise=args.noise)
    if args.out:
        write(pages, args.out)
    print(json.dumps(measure(pages, args.threshold), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
