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

from app.domain.validators import Problem, problem

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
    if text.isascii() and text.isalnum():
        return text  # nothing to fold (a sender's household reference such as H0012)
    return _fold(text)


def _fold(text: str) -> str:
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


# ---- 世帯主 (DOMAIN.md §7 rule 9) ---------------------------------------------------------
# 標準仕様書 1.1.10/4.0.4 (j100, j490): a household has at most one 世帯主, who may be unset;
# when the head leaves and one member remains, that member becomes head by 職権; with two or
# more remaining, a 世帯主変更 must come first. Only what the form itself says is judged.

HEAD = "世帯主"
# The forms whose members, with their 続柄, make up the household named by the form.
JOINING_FORMS = frozenset({"resident.move_in", "resident.move_within", "resident.household_change"})
MOVE_OUT = "resident.move_out"


def _same_name(a: object, b: object) -> bool:
    """Whether two written names are one: a comparison copy without spaces, never stored."""
    return isinstance(a, str) and isinstance(b, str) and "".join(a.split()) == "".join(b.split())


def _is_named(member: Mapping[str, object], name: object) -> bool:
    """Whether ``name`` is this person's name, 通称 or alphabet name as written."""
    keys = ("name", "common_name", "name_alphabet")
    return any(_same_name(member.get(k), name) for k in keys)


def _people(values: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    items = values.get(key)
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _household_label(procedure: str, values: Mapping[str, object]) -> str:
    for address_key, katagaki_key in ADDRESS_FIELDS:
        address = values.get(address_key)
        if isinstance(address, str) and address.strip():
            katagaki = values.get(katagaki_key) if katagaki_key else None
            return f"{address} {katagaki}" if isinstance(katagaki, str) else address
    return procedure


def resulting_household(procedure: str, values: Mapping[str, object]) -> dict[str, object] | None:
    """What a reviewer sees of the household the form leaves behind or forms; None if no move.

    ``remaining`` is None where the form does not say who stays (never guessed).
    """
    if procedure not in JOINING_FORMS and procedure != MOVE_OUT:
        return None
    members = _people(values, "members")
    names = [m.get("name") for m in members]
    if procedure == MOVE_OUT:
        staying = _people(values, "remaining_members")
        remaining = [m.get("name") for m in staying] if "remaining_members" in values else None
        heads = [m.get("name") for m in staying if m.get("relationship") == HEAD]
        leaving_head = next((m.get("name") for m in members if m.get("relationship") == HEAD), None)
        head = heads[0] if heads else None
        if head is None and leaving_head is not None and remaining and len(remaining) == 1:
            head = remaining[0]  # 職権: the one person staying
        return {
            "household": _household_label(procedure, values),
            "leaving": names,
            "head_leaves": leaving_head is not None,
            "remaining": remaining,
            "head": head if remaining is not None else None,
        }
    marked = [m.get("name") for m in members if m.get("relationship") == HEAD]
    head_name = values.get("household_head_name")
    return {
        "household": _household_label(procedure, values),
        "members": names,
        "head": head_name if isinstance(head_name, str) else (marked[0] if marked else None),
        "head_among_members": any(_is_named(m, head_name) for m in members),
    }


def head_of_household_problems(
    procedure: str, values: Mapping[str, object], failed: frozenset[str] | set[str] = frozenset()
) -> list[Problem]:
    """Two heads, a head the form contradicts, or a head leaving others without one.

    ``failed``: fields with errors of their own; a list that failed as a whole is not judged.
    """
    if {"members", "remaining_members", "household_head_name"} & set(failed):
        return []
    label = _household_label(procedure, values)
    out: list[Problem] = []
    members = _people(values, "members")
    if procedure in JOINING_FORMS:
        head_name = values.get("household_head_name")
        marked = [(i, m) for i, m in enumerate(members) if m.get("relationship") == HEAD]
        for index, member in marked[1:]:
            out.append(
                problem(
                    f"members[{index}].relationship",
                    "two_household_heads",
                    label,
                    household=label,
                    other=str(member.get("name")),
                )
            )
        if marked and isinstance(head_name, str) and not _is_named(marked[0][1], head_name):
            out.append(
                problem(
                    "household_head_name",
                    "two_household_heads",
                    label,
                    household=label,
                    other=str(marked[0][1].get("name")),
                )
            )
        for index, member in enumerate(members):
            if _is_named(member, head_name) and member.get("relationship") != HEAD:
                out.append(
                    problem(
                        f"members[{index}].relationship",
                        "household_head_mismatch",
                        label,
                        household=label,
                        other=str(member.get("name")),
                    )
                )
        return out
    if procedure != MOVE_OUT or "remaining_members" not in values:
        return out
    staying = _people(values, "remaining_members")
    heads = [(i, m) for i, m in enumerate(staying) if m.get("relationship") == HEAD]
    head_leaves = any(m.get("relationship") == HEAD for m in members)
    for index, member in heads[1:]:
        out.append(
            problem(
                f"remaining_members[{index}].relationship",
                "two_household_heads",
                label,
                household=label,
                other=str(member.get("name")),
            )
        )
    if head_leaves and not heads:
        if len(staying) == 1:
            out.append(
                problem(
                    "remaining_members[0].name",
                    "household_head_proposed",
                    label,
                    household=label,
                    other=str(staying[0].get("name")),
                )
            )
        elif len(staying) >= 2:
            out.append(
                problem(
                    "remaining_members",
                    "household_without_head",
                    label,
                    household=label,
                    count=len(staying),
                )
            )
    return out
