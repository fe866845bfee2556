"""Which household a form is about: one key for every procedure, so one lock (標準仕様書 j1380).

A 転入 and the 児童手当 claim that follows it name the same household in different fields
(``new_address`` + ``new_katagaki`` there, ``claimant_address`` here) and in different widths
(``１－１`` on paper, ``1-1`` from OCR). The key is derived from a folded copy of the address;
the address itself is stored as written (names and addresses are never normalised).
"""

import hashlib
import re
import unicodedata
from collections.abc import Mapping

# Where each procedure writes the household's address in this municipality, then its 方書.
# resident.move_out names the address being left; the others the address lived at.
ADDRESS_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("new_address", "new_katagaki"),
    ("current_address", None),
    ("address", "katagaki"),
    ("claimant_address", None),
)
# Every hyphen and dash look-alike a resident or OCR writes between address numbers; ー and
# the kanji 一 only between digits, where they cannot be a long vowel or the numeral one.
_DASHES = re.compile(r"[\-‐‑‒–—―−－ｰ﹣]|(?<=\d)[ー一](?=\d)")
_BLOCKS = re.compile(r"(\d+)(?:丁目|番地|番|の)(?=\d)")
_LAST_NUMBER = re.compile(r"(\d+)(?:番地|番|号)")


def fold_address(text: str) -> str:
    """A comparison copy of an address: widths folded, spaces dropped, 1丁目2番3号 as 1-2-3."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"(?<=\d)\s+(?=\d)", "-", s.strip())  # 1-1 101 is 1-1-101, not 1-1101
    s = "".join(s.split())
    s = _DASHES.sub("-", s)
    s = _BLOCKS.sub(r"\1-", s)
    s = _LAST_NUMBER.sub(r"\1", s)
    return re.sub(r"-+", "-", s).strip("-")


def _address_of(values: Mapping[str, object], applicant: Mapping[str, object]) -> str:
    for address_key, katagaki_key in ADDRESS_FIELDS:
        address = values.get(address_key)
        if isinstance(address, str) and address.strip():
            katagaki = values.get(katagaki_key) if katagaki_key else None
            return f"{address} {katagaki}" if isinstance(katagaki, str) else address
    address = applicant.get("address")
    return address if isinstance(address, str) else ""


def household_key(applicant: Mapping[str, object], values: Mapping[str, object]) -> str:
    """The sender's household reference when given, else the household's address, folded."""
    reference = applicant.get("household_ref")
    if isinstance(reference, str) and reference.strip():
        basis = "ref:" + fold_address(reference).upper()
    else:
        basis = "addr:" + fold_address(_address_of(values, applicant))
    return hashlib.sha256(basis.encode()).hexdigest()[:32]
