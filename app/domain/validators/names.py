"""Checks for names, 本籍, 筆頭者, 住所 and 方書: they are stored exactly as captured.

Nothing here returns a changed string. Even NFC alters some name kanji (U+FA19 神 → U+795E),
so no normalisation of any kind is applied (DOMAIN.md §5.2, §7.15).
"""

import unicodedata
from dataclasses import dataclass

from app.domain.validators.cp932 import cp932_offenders

# JIS X 0213 is the national character guideline (DOMAIN.md §5.3); Python's euc_jis_2004
# codec covers it. Characters in neither it nor CP932 need 同定 to an MJ/MJ+ code.
_JIS_CODEC = "euc_jis_2004"


@dataclass(frozen=True)
class NameIssue:
    code: str  # needs_identification / private_use / variation_sequence / not_cp932 / control
    chars: tuple[str, ...]


def _in_jis_x_0213(char: str) -> bool:
    try:
        return char.encode(_JIS_CODEC).decode(_JIS_CODEC) == char
    except UnicodeEncodeError:
        return False


def _is_variation_selector(char: str) -> bool:
    cp = ord(char)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def check_name(text: str) -> list[NameIssue]:
    """What a reviewer must look at in a captured name; the name itself is never changed."""
    found: dict[str, list[str]] = {}

    def add(code: str, chars: str) -> None:
        bucket = found.setdefault(code, [])
        if chars not in bucket:
            bucket.append(chars)

    previous = ""
    for char in text:
        category = unicodedata.category(char)
        if _is_variation_selector(char):
            # An IVS picks one glyph of the base kanji (often an MJ glyph); CP932 and JIS
            # exports drop the selector, so the glyph must be identified by a person.
            add("variation_sequence", previous + char)
        elif category == "Co":
            add("private_use", char)  # a legacy 外字 code point: meaningless outside its system
        elif category in ("Cc", "Cf"):
            add("control", char)  # zero-width spaces, BOMs and the like hide in OCR output
        elif char.isspace():
            pass
        elif not _in_jis_x_0213(char) and not _encodes_cp932(char):
            add("needs_identification", char)
        elif not _encodes_cp932(char):
            add("not_cp932", char)
        previous = char
    return [NameIssue(code, tuple(chars)) for code, chars in found.items()]


def _encodes_cp932(char: str) -> bool:
    return not cp932_offenders(char)


def is_unchanged(captured: str, stored: str) -> bool:
    """True when ``stored`` is byte-identical to ``captured`` in UTF-8."""
    return captured.encode("utf-8") == stored.encode("utf-8")
