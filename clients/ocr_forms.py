"""Synthetic printed forms (住民異動届, 児童手当 認定請求書) for the OCR reader, with their truth.

    python -m clients.ocr_forms --pages 100 --out /tmp/forms   # generate, read, print accuracy
    python -m clients.ocr_forms --pages 100 --seed 1 --calibrate   # the template's verify_below

Each page is the template filled with made-up data in Noto Sans CJK (Debian fonts-noto-cjk),
at the template's resolution (200 dpi), optionally rotated and speckled like a scan. Printed
text only: handwriting is beyond Tesseract and is not claimed.
"""

import argparse
import json
import math
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


def _phone(rng: random.Random) -> str:
    return f"0{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def _name(rng: random.Random, given: list[str], given_kana: list[str]) -> tuple[str, str]:
    f, g = rng.randrange(10), rng.randrange(10)
    return f"{FAMILY[f]} {given[g]}", f"{FAMILY_KANA[f]} {given_kana[g]}"


def _date(rng: random.Random, era: str, first: int, last: int) -> str:
    return f"{era}{rng.randint(first, last)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def truth_for(rng: random.Random) -> dict[str, str]:
    """A made-up 住民異動届 (転入)."""
    name, kana = _name(rng, GIVEN, GIVEN_KANA)
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
        "members[0].kana": kana,
        "members[0].birth_date": _date(rng, "昭和", 30, 63),
    }


def child_claim_truth(rng: random.Random) -> dict[str, str]:
    """A made-up 児童手当 認定請求書: the claimant, one child."""
    name, kana = _name(rng, GIVEN, GIVEN_KANA)
    family, family_kana = name.split(" ")[0], kana.split(" ")[0]
    c = rng.randrange(10)
    return {
        "filing_date": f"令和8年{rng.randint(1, 11)}月{rng.randint(1, 28)}日",
        "claimant_name": name,
        "claimant_kana": kana,
        "claimant_birth_date": _date(rng, "平成", 1, 12),
        "claimant_postal_code": f"{rng.randint(860, 869)}-{rng.randint(0, 9999):04d}",
        "claimant_address": f"{rng.choice(PLACES)}{rng.randint(1, 9)}丁目",
        "claimant_phone": _phone(rng),
        "reason_date": f"令和8年{rng.randint(1, 11)}月{rng.randint(1, 28)}日",
        "children[0].name": f"{family} {CHILD_GIVEN[c]}",
        "children[0].kana": f"{family_kana} {CHILD_GIVEN_KANA[c]}",
        "children[0].birth_date": _date(rng, "令和", 1, 8),
    }


CHILD_GIVEN = ["蓮", "陽葵", "湊", "凛", "蒼", "結菜", "樹", "紬", "悠真", "芽依"]
CHILD_GIVEN_KANA = [
    "レン",
    "ヒマリ",
    "ミナト",
    "リン",
    "アオイ",
    "ユイナ",
    "イツキ",
    "ツムギ",
    "ユウマ",
    "メイ",
]
TRUTHS = {"resident.move_in.v1": truth_for, "child_allowance.claim.v1": child_claim_truth}


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
        if field.vertical:  # 縦書き: one character under the other, a blank a step down
            x, y = (left + right) / 2 - 22, top + 20
            for char in value:
                if char != " ":
                    draw.text((x, y), char, font=value_font, fill=0)
                y += 52
        else:
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


def generate(
    count: int,
    *,
    seed: int = 1,
    skew: float = 1.5,
    noise: float = 0.002,
    template: str = "resident.move_in.v1",
) -> list[Page]:
    form = load_templates()[template]
    make_truth = TRUTHS[template]
    rng = random.Random(seed)
    pages = []
    for n in range(count):
        truth = make_truth(rng)
        angle = rng.uniform(-skew, skew) if skew else 0.0
        pages.append(Page(render(form, truth, angle=angle, noise=noise, seed=n), truth))
    return pages


def write(pages: list[Page], folder: Path, prefix: str = "form") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages):
        page.image.save(folder / f"{prefix}-{n:04d}.png", dpi=(200, 200))
        (folder / f"{prefix}-{n:04d}.truth.json").write_text(
            json.dumps(page.truth, ensure_ascii=False), encoding="utf-8"
        )


@dataclass
class Read:
    script: str
    exact: bool
    loose: bool  # exact once the truth's blanks are dropped (blanks are never read)
    confidence: float
    flagged: bool  # keyed twice blind by the routing (threshold, template rule, high risk)


def read_all(pages: list[Page], template: str, threshold: float) -> tuple[list[Read], float]:
    """Every field of every page as the scanner reads and routes it; seconds a page."""
    from app.domain.applications import risky_paths
    from app.domain.catalogue import load_catalogue
    from app.domain.ocr import ocr_results
    from app.services.intake import merge_ocr
    from app.services.ocr import TesseractEngine, read_aligned

    form = load_templates()[template]
    procedure = load_catalogue().get(form.procedure)
    engine = TesseractEngine()
    scripts = {f.path: f.script for f in form.fields}
    out = []
    started = time.perf_counter()
    for page in pages:
        readings = read_aligned(engine, page.image, form)
        ocr = ocr_results(readings, form.to_verify(readings))
        risky = set(risky_paths(procedure, merge_ocr({}, ocr), ocr, set(), threshold))
        for path, reading in readings.items():
            truth = page.truth[path]
            out.append(
                Read(
                    scripts[path],
                    reading.text == truth,
                    reading.text == truth.replace(" ", ""),
                    reading.confidence,
                    path in risky or "unreadable" in ocr[path],
                )
            )
    return out, (time.perf_counter() - started) / max(1, len(pages))


def measure(pages: list[Page], threshold: float, template: str = "resident.move_in.v1") -> Any:
    """Exact-match rate per script (also with blanks ignored), the share of all fields read
    wrong yet not routed to double keying, and the share routed to double keying."""
    reads, seconds = read_all(pages, template, threshold)
    by_script: dict[str, list[Read]] = {}
    for read in reads:
        by_script.setdefault(read.script, []).append(read)
    n = max(1, len(reads))
    return {
        "template": template,
        "pages": len(pages),
        "fields": {s: len(rs) for s, rs in sorted(by_script.items())},
        "exact": {s: round(sum(r.exact for r in rs) / len(rs), 4) for s, rs in by_script.items()},
        "exact_ignoring_blanks": {
            s: round(sum(r.loose for r in rs) / len(rs), 4) for s, rs in by_script.items()
        },
        "wrong_unflagged": round(sum(not r.exact and not r.flagged for r in reads) / n, 4),
        "wrong_unflagged_ignoring_blanks": round(
            sum(not r.loose and not r.flagged for r in reads) / n, 4
        ),
        "double_keyed": round(sum(r.flagged for r in reads) / n, 4),
        "seconds_per_page": round(seconds, 2),
    }


def calibrate(pages: list[Page], template: str) -> dict[str, float | str]:
    """Per script, the lowest confidence above every wrong reading of these pages ("always"
    when that would send half the script's fields or more to double keying anyway)."""
    reads, _seconds = read_all(pages, template, 0.0)
    out: dict[str, float | str] = {}
    for script in sorted({r.script for r in reads}):
        mine = [r for r in reads if r.script == script]
        wrong = [r.confidence for r in mine if not r.exact]
        limit = math.ceil((max(wrong) + 0.005) * 100) / 100 if wrong else 0.0
        flagged = sum(r.confidence < limit for r in mine)
        out[script] = "always" if limit > 1 or flagged * 2 >= len(mine) else limit
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="resident.move_in.v1", choices=sorted(TRUTHS))
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skew", type=float, default=1.5, help="largest rotation, degrees")
    parser.add_argument("--noise", type=float, default=0.002, help="share of speckled pixels")
    parser.add_argument("--threshold", type=float, default=0.9, help="low-confidence below")
    parser.add_argument("--out", type=Path, help="also write the pages and truth here")
    parser.add_argument(
        "--calibrate", action="store_true", help="print the template's verify_below instead"
    )
    args = parser.parse_args()
    pages = generate(
        args.pages, seed=args.seed, skew=args.skew, noise=args.noise, template=args.template
    )
    if args.out:
        write(pages, args.out)
    if args.calibrate:
        print(json.dumps({"verify_below": calibrate(pages, args.template)}, ensure_ascii=False))
    else:
        result = measure(pages, args.threshold, args.template)
        print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
