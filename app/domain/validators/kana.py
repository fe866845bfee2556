"""フリガナ in full-width katakana, and 全銀 kana for bank-account holders (DOMAIN.md §5.2).

フリガナ is not a name field, so NFKC is allowed here: it turns half-width kana (ｶﾞ) and
full-width ASCII into their usual forms. jaconv.normalize is not used: it turns hyphens into
ー in places where that changes meaning (ECOSYSTEM.md §0-7); the dash folding below is
limited to kana fields, where a dash can only be a long-vowel mark.
"""

import re
import unicodedata

import jaconv

# Every dash look-alike (after NFKC) that a resident or OCR may write for the 長音 mark.
_DASHES = "-‐‑‒–—―−ｰ"
_KATAKANA = re.compile(r"[ァ-ヺー・ヽヾ\u3000]")
ZENGIN_MAX_LENGTH = 40  # typical bank limit for 口座名義 (bank-dependent; DOMAIN.md §5.2)


# A spacing 濁点/半濁点 (゛ U+309B, ゜ U+309C) written after a kana joins it, as its combining
# form does (JIS X 0208 has only the spacing marks; 標準仕様書 j330 matches カ゛ as ガ).
# NFKC alone would turn ゛ into a space and a combining mark, splitting the reading in two.
_SPACING_MARKS = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})


def normalise_furigana(text: str) -> str:
    """Full-width katakana from half-width kana or hiragana, parts split by one full-width space."""
    s = unicodedata.normalize("NFKC", text.translate(_SPACING_MARKS))
    s = jaconv.hira2kata(s)
    s = s.translate({ord(d): "ー" for d in _DASHES})
    return "\u3000".join(s.split())


def furigana_offending_chars(text: str) -> list[str]:
    """Characters of a normalised フリガナ that are not katakana, ー, ・ or a full-width space."""
    return list(dict.fromkeys(c for c in text if not _KATAKANA.fullmatch(c)))


# 全銀 kana has no small kana: キュウヨ is written キユウヨ. ヰ/ヱ have no half-width form.
_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶヰヱ", "アイウエオツヤユヨワカケイエ")
# Half-width katakana, voicing marks, A–Z, 0–9 and the symbols every bank accepts.
_ZENGIN_ALLOWED = re.compile(r"[ｦｱ-ﾝﾞﾟA-Z0-9 ().\-/]")


def to_zengin_kana(text: str) -> str:
    """The 全銀 form of an account-holder name: half-width, large kana, upper-case, ー as '-'."""
    s = normalise_furigana(text).translate(_LARGE)
    # Banks reject the 長音 mark; the 全銀 convention writes it as a hyphen (ｺｰﾋｰ → ｺ-ﾋ-).
    s = s.replace("ー", "-").replace("・", ".").replace("\u3000", " ")
    s = jaconv.z2h(s, kana=True, ascii=True, digit=True).upper()
    return " ".join(s.split())


def zengin_offending_chars(text: str) -> list[str]:
    """Characters that no bank accepts in a 全銀 口座名義."""
    return list(dict.fromkeys(c for c in text if not _ZENGIN_ALLOWED.fullmatch(c)))
