import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validators.cp932 import (
    cp932_offenders,
    cp932_offending_chars,
    describe_chars,
    is_cp932_safe,
)


def _round_trips(char: str) -> bool:
    try:
        return char.encode("cp932").decode("cp932") == char
    except UnicodeEncodeError:
        return False


# Built here rather than with st.characters(codec="cp932"), which warns about exactly the
# characters this module exists to catch (and warnings fail the run).
SAFE = [chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xF8FF and _round_trips(chr(c))]


@pytest.mark.parametrize(
    ("char", "reason"),
    [
        ("〜", "not_round_trip"),  # WAVE DASH comes back as ～ FULLWIDTH TILDE
        ("−", "not_round_trip"),
        ("‖", "not_round_trip"),
        ("¢", "not_round_trip"),
        ("£", "not_round_trip"),
        ("¬", "not_round_trip"),
        ("𠮷", "unencodable"),
        ("㋿", "unencodable"),
        ("—", "unencodable"),
        ("\U000e0100", "unencodable"),
        ("\ue000", "private_use"),  # encodes into the user-defined area, meaning lost
    ],
)
def test_offending_characters(char: str, reason: str) -> None:
    assert [(o.char, o.reason) for o in cp932_offenders(f"山田{char}太郎")] == [(char, reason)]
    assert not is_cp932_safe(char)


@pytest.mark.parametrize("text", ["髙橋", "山﨑", "①", "㈱", "～", "－", "∥", "ﾔﾏﾀﾞ", "ABC 123", ""])
def test_cp932_extensions_are_fine(text: str) -> None:
    # These fail with the "shift_jis" codec, which is why "cp932" is used.
    assert is_cp932_safe(text)


def test_each_offender_once_in_order() -> None:
    assert cp932_offending_chars("〜𠮷〜a𠮷−") == ["〜", "𠮷", "−"]


def test_describe_chars_names_code_points() -> None:
    assert describe_chars(["〜", "葛\U000e0100"]) == "〜 (U+301C), 葛\U000e0100 (U+845B U+E0100)"


@given(st.text(alphabet=st.sampled_from(SAFE), max_size=40))
def test_round_tripping_text_is_safe(text: str) -> None:
    assert is_cp932_safe(text)
    assert text.encode("cp932").decode("cp932") == text


@given(st.text(max_size=20))
def test_safe_means_unchanged_by_a_cp932_file(text: str) -> None:
    if is_cp932_safe(text):
        assert text.encode("cp932").decode("cp932") == text
    else:
        offenders = cp932_offending_chars(text)
        assert offenders and all(char in text for char in offenders)
