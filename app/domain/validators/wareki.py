"""和暦 dates: read what residents and OCR write, format what counters show (DOMAIN.md §5.1)."""

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Era:
    name: str
    initial: str
    kanji: str
    offset: int  # 元年 is offset + 1 in the Gregorian calendar
    first_day: date
    last_day: date | None  # inclusive


# 明治 and 大正 end on the change day itself: the old era's name is valid on that day
# (標準仕様書 j80 requires 明治45年7月30日 and 大正15年12月25日). Later changes happened at
# midnight, so 昭和64年1月8日 and 平成31年5月1日 do not exist. 明治 is usable only from
# 明治6年1月1日, when Japan adopted the Gregorian calendar.
ERAS = (
    Era("明治", "M", "明", 1867, date(1873, 1, 1), date(1912, 7, 30)),
    Era("大正", "T", "大", 1911, date(1912, 7, 30), date(1926, 12, 25)),
    Era("昭和", "S", "昭", 1925, date(1926, 12, 25), date(1989, 1, 7)),
    Era("平成", "H", "平", 1988, date(1989, 1, 8), date(2019, 4, 30)),
    Era("令和", "R", "令", 2018, date(2019, 5, 1), None),
)
_ERA_BY_TOKEN = {token: era for era in ERAS for token in (era.name, era.initial, era.kanji)}
_FAR_FUTURE = date(9999, 12, 31)

MESSAGES = {
    "date_format": "日付として読めません (not a readable date)",
    "invalid_date": "存在しない日付です (no such date)",
    "era_range": "元号の範囲外です (date outside its era)",
    "before_gregorian": "明治6年より前の日付は扱えません (before 1873, the Gregorian calendar)",
    "uncertain_not_allowed": "不詳・推定の日付はこの項目では使えません "
    "(uncertain date not allowed)",
}


class DateProblem(ValueError):
    """A date that cannot be accepted; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str) -> None:
        super().__init__(MESSAGES[code])
        self.code = code
        self.message = MESSAGES[code]


@dataclass(frozen=True)
class WarekiDate:
    """A parsed date. ``iso`` is set only for an exact, real day."""

    written: str
    iso: date | None
    era: str | None = None  # None when written in 西暦
    uncertain: str | None = None  # approximate / partial / range / impossible / unknown
    earliest: date | None = None
    latest: date | None = None

    def as_value(self) -> dict[str, str | None]:
        """The stored shape: ISO text plus exactly what was written."""
        return date_value(self.written, self)


def date_value(written: str, parsed: WarekiDate | None = None) -> dict[str, str | None]:
    """``{iso, written, uncertain, earliest, latest}``; all but ``written`` null if unparsed."""

    def text(d: date | None) -> str | None:
        return d.isoformat() if d else None

    if parsed is None:
        return {
            "iso": None,
            "written": written,
            "uncertain": None,
            "earliest": None,
            "latest": None,
        }
    return {
        "iso": text(parsed.iso),
        "written": written,
        "uncertain": parsed.uncertain,
        "earliest": text(parsed.earliest),
        "latest": text(parsed.latest),
    }


_UNKNOWN = "[○◯?]{1,4}"
_SEP = r"[./\-]"
_ERA_TOKEN = "明治|大正|昭和|平成|令和|[明大昭平令MTSHR]"
# Era years have one or two digits (R060401 is 令和6年4月1日); three only before 年 or a dot.
_ERA_YEAR = rf"元|\d{{1,2}}|\d{{3}}(?=年|{_SEP})|{_UNKNOWN}"
_CORE = re.compile(
    rf"^(?:(?P<era>{_ERA_TOKEN})(?P<ey>{_ERA_YEAR})|(?P<gy>\d{{4}}))(?:年|{_SEP})?"
    rf"(?:(?P<m>\d{{1,2}}|{_UNKNOWN})(?:月|{_SEP})?(?:(?P<d>\d{{1,2}}|{_UNKNOWN})日?)?)?"
    r"(?P<tail>上旬|初旬|中旬|下旬|月日不詳|日不詳|不詳|不明)?$"
)
_RANGE = re.compile(r"^(?P<start>.+?)(?:から|~|〜)(?P<end>.+?)(?:までの間|までのあいだ|まで)$")
_ALL_UNKNOWN = {"不詳", "不明", "年月日不詳", "年月日不明"}
_KANJI_DIGITS = dict(zip("〇一二三四五六七八九", "0123456789", strict=True))
_PARTS = {"上旬": (1, 10), "初旬": (1, 10), "中旬": (11, 20), "下旬": (21, 31)}


def _kanji_number(match: re.Match[str]) -> str:
    run = match.group(0)
    if "十" not in run:
        return "".join(_KANJI_DIGITS[c] for c in run)  # positional: 二〇二四
    tens, _, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return run  # not a number; left for the date pattern to refuse
    value = int(_KANJI_DIGITS.get(tens, "1")) * 10 + int(_KANJI_DIGITS.get(ones, "0"))
    return str(value)


def _prepare(text: str) -> str:
    # NFKC folds full-width digits and ㍻/㋿-style era ligatures; kanji numerals come from
    # handwritten and vertical forms. Only this working copy is changed, never ``written``.
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"\s+", "", s).upper().rstrip(".")
    s = re.sub(r"(?<![〇一二三四五六七八九十])[〇一二三四五六七八九十]{1,4}", _kanji_number, s)
    return s.removesuffix("生まれ").removesuffix("生")


def parse_wareki(text: str, *, allow_unknown: bool = False) -> WarekiDate:
    """Read a 和暦 (or 西暦) date; 不詳 forms and impossible days only with ``allow_unknown``."""
    s = _prepare(text)
    if s in _ALL_UNKNOWN:
        return _allowed(WarekiDate(text, None, uncertain="unknown"), allow_unknown)
    approximate = s.startswith("推定") or s.endswith(("頃", "ころ", "推定"))
    if approximate:
        s = s.removeprefix("推定").removesuffix("推定").removesuffix("ころ").removesuffix("頃")
    if (ranged := _RANGE.match(s)) is not None:
        start = _parse_core(text, ranged["start"])
        end_text = ranged["end"]
        head = _CORE.match(ranged["start"])
        if head is not None and head["era"] and not re.match(rf"({_ERA_TOKEN}|\d{{4}})", end_text):
            end_text = f"{head['era']}{head['ey']}年{end_text}"  # 昭和50年4月から6月まで
        end = _parse_core(text, end_text)
        if start.earliest is None or end.latest is None or end.latest < start.earliest:
            raise DateProblem("invalid_date")
        result = WarekiDate(text, None, start.era, "range", start.earliest, end.latest)
        return _allowed(result, allow_unknown)
    result = _parse_core(text, s)
    if approximate:
        result = WarekiDate(text, None, result.era, "approximate", result.earliest, result.latest)
    return _allowed(result, allow_unknown)


def _allowed(result: WarekiDate, allow_unknown: bool) -> WarekiDate:
    if result.uncertain == "impossible" and not allow_unknown:
        raise DateProblem("invalid_date")
    if result.uncertain is not None and not allow_unknown:
        raise DateProblem("uncertain_not_allowed")
    return result


def _number(part: str | None) -> int | None:
    if part is None or not part.isdigit():
        return None
    return int(part)


def _parse_core(written: str, s: str) -> WarekiDate:
    match = _CORE.match(s)
    if match is None:
        raise DateProblem("date_format")
    era = _ERA_BY_TOKEN.get(match["era"] or "")
    y_text, m_text, d_text, tail = match["ey"] or match["gy"], match["m"], match["d"], match["tail"]
    if y_text == "元":
        y_text = "1"
    era_year = _number(y_text)
    if era is not None and era_year == 0:
        raise DateProblem("era_range")
    month, day = _number(m_text), _number(d_text)
    if tail == "月日不詳":
        month = None
    if month is not None and not 1 <= month <= 12:
        raise DateProblem("invalid_date")
    if day is not None and (month is None or not 1 <= day <= 31):
        raise DateProblem("invalid_date")
    if era_year is None:  # e.g. 令和○年頃: only the era is known
        if era is None:
            raise DateProblem("date_format")
        return WarekiDate(written, None, era.name, "partial", era.first_day, era.last_day)
    year = era_year + (era.offset if era else 0)
    if not 1 <= year <= 9999:
        raise DateProblem("date_format")
    if day is not None and month is not None and tail is None:
        return _exact_day(written, era, year, month, day)
    first, last = _period(year, month, tail)
    return _within_era(
        WarekiDate(written, None, era.name if era else None, "partial", first, last), era
    )


def _exact_day(written: str, era: Era | None, year: int, month: int, day: int) -> WarekiDate:
    if day > calendar.monthrange(year, month)[1]:
        # Kept as written with no ISO value: 標準仕様書 j80 requires accepting e.g. 2月29日
        # in a common year for 生年月日; the era check still applies to the month.
        first, last = _period(year, month, None)
        result = WarekiDate(written, None, era.name if era else None, "impossible", None, None)
        _within_era(WarekiDate(written, None, None, None, first, last), era)
        return result
    exact = date(year, month, day)
    return _within_era(
        WarekiDate(written, exact, era.name if era else None, None, exact, exact), era
    )


def _period(year: int, month: int | None, tail: str | None) -> tuple[date, date]:
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    last_day = calendar.monthrange(year, month)[1]
    first_day, end_day = _PARTS.get(tail or "", (1, last_day))
    return date(year, month, first_day), date(year, month, min(end_day, last_day))


def _within_era(result: WarekiDate, era: Era | None) -> WarekiDate:
    """Refuse a period that does not touch its era; clip a partial one to the era."""
    assert result.earliest is not None and result.latest is not None
    if result.latest < ERAS[0].first_day:
        raise DateProblem("before_gregorian")
    if era is None:
        return result
    if result.latest < era.first_day or result.earliest > (era.last_day or _FAR_FUTURE):
        raise DateProblem("era_range")
    if result.iso is not None:
        return result
    earliest = max(result.earliest, era.first_day)
    latest = min(result.latest, era.last_day or _FAR_FUTURE)
    return WarekiDate(result.written, None, result.era, result.uncertain, earliest, latest)


def era_of(d: date) -> Era:
    """The era a day is written in today (the new era on a change day)."""
    for era in reversed(ERAS):
        if d >= era.first_day:
            return era
    raise ValueError(f"{d.isoformat()} is before 明治6年 (1873-01-01)")


def format_wareki(d: date) -> str:
    """A day in full 和暦, e.g. 令和6年4月1日 (元年 for year 1)."""
    era = era_of(d)
    year = d.year - era.offset
    return f"{era.name}{'元' if year == 1 else year}年{d.month}月{d.day}日"


def format_wareki_short(d: date) -> str:
    """A day in the short form used on forms and in OCR output, e.g. R6.4.1."""
    era = era_of(d)
    return f"{era.initial}{d.year - era.offset}.{d.month}.{d.day}"
