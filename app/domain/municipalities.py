"""全国地方公共団体コード: five digits and a check digit (総務省 告示); the wards of
政令指定都市 (app/domain/wards.json)."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path


def municipality_check_digit(first5: str) -> int:
    """Check digit of a 地方公共団体コード: weights 6,5,4,3,2, check = (11 − r) mod 10."""
    total = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def is_valid_municipality_code(code: str) -> bool:
    """Six ASCII digits whose last is the check digit of the first five."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    return municipality_check_digit(code[:5]) == int(code[5])


# 政令指定都市 and their wards: app/domain/wards.json (data, not code).
@dataclass(frozen=True)
class Ward:
    code: str
    city_code: str
    name_ja: str
    name_en: str
    city_name_ja: str
    city_name_en: str


@cache
def _wards() -> dict[str, Ward]:
    data = json.loads((Path(__file__).parent / "wards.json").read_text(encoding="utf-8"))
    return {
        code: Ward(code, city_code, w["name_ja"], w["name_en"], city["name_ja"], city["name_en"])
        for city_code, city in data["cities"].items()
        for code, w in city["wards"].items()
    }


def _with_check_digit(first5: str) -> str:
    return first5 + str(municipality_check_digit(first5))


def ward_of(code: str | None) -> Ward | None:
    """The ward a 地方公共団体コード (6 digits) or a 住所コード (11 digits) names, if any."""
    if not code or len(code) < 5 or not code[:5].isascii() or not code[:5].isdigit():
        return None
    return _wards().get(_with_check_digit(code[:5]))


def city_of(code: str) -> str:
    """The 地方公共団体コード of the city a code (a ward's, a 住所コード, or a city's) belongs
    to: a ward's city, else the municipality the first five digits name."""
    ward = ward_of(code)
    return ward.city_code if ward else _with_check_digit(code[:5])


def is_within_one_city(previous: str, new: str) -> bool:
    """Whether a move from ``previous`` to ``new`` (地方公共団体コード or 住所コード) stays in
    one municipality: the same one, or two wards of one 政令指定都市 (a 転居, 法23条)."""
    return city_of(previous) == city_of(new)
