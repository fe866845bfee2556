"""Can a text go into a CP932 (Windows-31J) file unchanged? (DOMAIN.md §5.5, §7.17)

Policy: a character is a problem when it cannot be encoded, when it encodes but decodes to a
different character (〜 − ‖ ¢ £ ¬ come back as ～ － ∥ ￠ ￡ ￢, so a vendor would hand back
other code points than we sent), or when it is a private-use 外字 (it encodes into the
user-defined area, whose meaning no other system shares). Nothing is ever substituted.
The codec is always "cp932": "shift_jis" rejects 髙 﨑 ① ㈱, which occur in real names.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

CODEC = "cp932"


@dataclass(frozen=True)
class Offender:
    char: str
    reason: str  # unencodable / not_round_trip / private_use

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"


# Unicode private-use areas: what 外字 become (CP932 maps its user area onto U+E000–U+E757).
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010fffd]")


@lru_cache(maxsize=65536)
def _reason(char: str) -> str | None:
    if unicodedata.category(char) == "Co":
        return "private_use"
    try:
        encoded = char.encode(CODEC)
    except UnicodeEncodeError:
        return "unencodable"
    return None if encoded.decode(CODEC) == char else "not_round_trip"


def cp932_offenders(text: str) -> list[Offender]:
    """Each offending character once, in order of first appearance, with its reason."""
    try:
        # The common case, a clean string, costs one encode and one decode in C.
        if text.encode(CODEC).decode(CODEC) == text and not _PRIVATE_USE.search(text):
            return []
    except UnicodeEncodeError:
        pass
    seen: dict[str, Offender] = {}
    for char in text:
        if char not in seen and (reason := _reason(char)) is not None:
            seen[char] = Offender(char, reason)
    return list(seen.values())


def cp932_offending_chars(text: str) -> list[str]:
    """The characters of ``text`` that a CP932 export would lose or change."""
    return [offender.char for offender in cp932_offenders(text)]


def is_cp932_safe(text: str) -> bool:
    """True when ``text`` survives a CP932 encode/decode unchanged."""
    return not cp932_offenders(text)


def describe_chars(chars: list[str]) -> str:
    """``〜 (U+301C), 𠮷 (U+20BB7)``: readable in a problem message even when a font lacks them."""
    return ", ".join(f"{c} ({' '.join(f'U+{ord(p):04X}' for p in c)})" for c in chars)
