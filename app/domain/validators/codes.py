"""Number codes on forms: 個人番号 (My Number), 地方公共団体コード and 郵便番号."""

import re
import unicodedata

from app.domain.municipalities import is_valid_municipality_code, municipality_check_digit

__all__ = [
    "format_postal_code",
    "is_valid_municipality_code",
    "is_placeholder_my_number",
    "is_valid_my_number",
    "mask_my_number",
    "municipality_check_digit",
    "my_number_check_digit",
    "normalise_digits",
    "normalise_my_number",
    "normalise_postal_code",
]

# Separators people and OCR put between digit groups: spaces, every hyphen/dash look-alike
# (including ー, which handwriting recognisers often return for a hyphen) and 〒.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー－ｰ〒]")


def normalise_digits(text: str) -> str:
    """Fold full-width digits and drop separators; the caller rejects anything else."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def _is_ascii_digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


def my_number_check_digit(first11: str) -> int:
    """Check digit of a 個人番号 (平成26年総務省令第85号 第5条; DOMAIN.md §4.1)."""
    if not _is_ascii_digits(first11, 11):
        raise ValueError("a My Number base is 11 ASCII digits")
    # Pn is the n-th digit counted from the right; its weight Qn is n+1 up to n=6, then n-5.
    total = sum(int(first11[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


# Full-width digits are the only other digits a 個人番号 may be written with: circled ①,
# superscript ¹ and other scripts' digits (٣, ३ …) are not folded (NFKC would fold some).
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def normalise_my_number(text: str) -> str | None:
    """Twelve ASCII digits when ``text`` has the shape of a 個人番号 (check digit not tested)."""
    digits = _SEPARATORS.sub("", text.translate(_FULL_WIDTH_DIGITS))
    return digits if _is_ascii_digits(digits, 12) else None


def is_placeholder_my_number(digits: str) -> bool:
    """``000000000000``, ``111111111111`` …: what forms carry when the number was not known."""
    return len(set(digits)) == 1


def is_valid_my_number(text: str) -> bool:
    """Twelve digits (full-width and separators allowed) whose last is the check digit."""
    digits = normalise_my_number(text)
    return (
        digits is not None
        and not is_placeholder_my_number(digits)
        and my_number_check_digit(digits[:11]) == int(digits[11])
    )


def mask_my_number(text: str) -> str:
    """Hide all but the last four digits, e.g. ``********0257`` (番号法: show only when needed)."""
    digits = normalise_my_number(text) or normalise_digits(text)
    shown = digits[-4:] if len(digits) > 4 else ""
    return "*" * (len(digits) - len(shown)) + shown


def normalise_postal_code(text: str) -> str | None:
    """Seven ASCII digits for a 郵便番号 written as 860-0001, ８６００００１, 〒860－0001…"""
    digits = normalise_digits(text)
    return digits if _is_ascii_digits(digits, 7) else None


def format_postal_code(code: str) -> str:
    """The display form 999-9999 of a stored seven-digit postal code."""
    return f"{code[:3]}-{code[3:]}"


def resident_code_check_digit(first10: str) -> int:
    """Check digit of a 住民票コード (住民基本台帳法施行規則1条: 10 random digits + 1 check digit).

    DOMAIN.md does not give the 算式; implemented: modulus 11 with the weights of the 個人番号
    算式 (Pn the n-th digit from the right, Qn = n+1 for n ≤ 6, n−5 after), 0 when the remainder
    is 0 or 1, the scheme the 個人番号 算式 (総務省令第85号5条) was carried over from.
    """
    if not _is_ascii_digits(first10, 10):
        raise ValueError("a 住民票コード base is 10 ASCII digits")
    total = sum(int(first10[10 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 11))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalise_resident_code(text: str) -> str | None:
    """Eleven ASCII digits when ``text`` is shaped like a 住民票コード (check digit not tested)."""
    digits = _SEPARATORS.sub("", text.translate(_FULL_WIDTH_DIGITS))
    return digits if _is_ascii_digits(digits, 11) else None


def is_valid_resident_code(text: str) -> bool:
    """Eleven digits (full-width and separators allowed) whose last is the check digit."""
    digits = normalise_resident_code(text)
    return digits is not None and resident_code_check_digit(digits[:10]) == int(digits[10])


# 住所コード (住民記録システム標準仕様書 j250; DOMAIN.md §5.4): 11 digits, 都道府県 (2) +
# 市区町村 (3) + 大字 (3) + 小字 (3); the first five are the 全国地方公共団体コード
# (JIS X 0401/0402) without its check digit, so the prefecture is 01–47. No check digit.
def normalise_address_code(text: str) -> str | None:
    """Eleven ASCII digits with a prefecture 01–47 (full-width digits, separators folded)."""
    digits = _SEPARATORS.sub("", text.translate(_FULL_WIDTH_DIGITS))
    if not _is_ascii_digits(digits, 11) or not 1 <= int(digits[:2]) <= 47:
        return None
    return digits


# 在留カード (入管法19条の4, 施行規則19条の6) and 特別永住者証明書 (入管特例法8条): both numbers
# are 12 characters, 2 Latin letters, 8 digits, 2 Latin letters (e.g. AB12345678CD).
_CARD_NUMBER = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z]{2}")
_FULL_WIDTH_RANGES = (range(0xFF10, 0xFF1A), range(0xFF21, 0xFF3B), range(0xFF41, 0xFF5B))
_FULL_WIDTH_ALNUM = str.maketrans({chr(c): chr(c - 0xFEE0) for r in _FULL_WIDTH_RANGES for c in r})


def normalise_residence_card_number(text: str) -> str | None:
    """The upper-case ASCII card number, or None when it is not 2 letters, 8 digits, 2 letters.

    Full-width letters and digits and separators are folded; nothing else (circled digits and
    other scripts stay and fail).
    """
    folded = _SEPARATORS.sub("", text.translate(_FULL_WIDTH_ALNUM)).upper()
    return folded if folded.isascii() and _CARD_NUMBER.fullmatch(folded) else None


# 在留期間 (入管法2条の2③, 施行規則3条 別表第2): years, months and days as the residence card
# writes them ("3年", "1年6月", "6月", "90日"); at most 5 years; "無期限" for the statuses
# without a period (高度専門職2号). A 永住者 or 特別永住者 has no 在留期間 to write.
_STAY_PERIOD = re.compile(
    r"(?:([0-9]{1,2})年)?(?:([0-9]{1,2})(?:月|ヶ月|か月|カ月))?(?:([0-9]{1,3})日)?"
)
_NO_LIMIT = "無期限"


def normalise_stay_period(text: str) -> str | None:
    """The period as ``N年M月D日`` (parts that are zero left out), ``無期限``, or None when it
    is not a period of stay (empty, zero, over 5 years, 12 months or more, over 365 days)."""
    folded = re.sub(r"\s", "", text.translate(_FULL_WIDTH_DIGITS))
    if folded == _NO_LIMIT:
        return folded
    found = _STAY_PERIOD.fullmatch(folded)
    if found is None or not folded:
        return None
    years, months, days = (int(part) if part else 0 for part in found.groups())
    if (years, months, days) == (0, 0, 0) or months >= 12 or days > 365:
        return None
    if years * 12 + months > 60 or (years == 5 and days):
        return None
    parts = [(years, "年"), (months, "月"), (days, "日")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)
