import pytest
import stdnum.jp.in_ as stdnum_my_number
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validators.codes import (
    format_postal_code,
    is_valid_municipality_code,
    is_valid_my_number,
    mask_my_number,
    municipality_check_digit,
    my_number_check_digit,
    normalise_my_number,
    normalise_postal_code,
)

BASES = st.text(alphabet="0123456789", min_size=11, max_size=11)


def left_to_right_check_digit(base: str) -> int:
    """DOMAIN.md §4.1's second form: weights 6,5,4,3,2,7,6,5,4,3,2; (−Σ) mod 11 mod 10."""
    total = sum(int(d) * w for d, w in zip(base, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    return (-total) % 11 % 10


@pytest.mark.parametrize(("base", "check"), [("62149832025", 7), ("12345678901", 8)])
def test_my_number_check_digit_examples(base: str, check: int) -> None:
    assert my_number_check_digit(base) == check


@given(BASES)
def test_my_number_check_digit_agrees_with_independent_implementations(base: str) -> None:
    mine = my_number_check_digit(base)
    assert mine == left_to_right_check_digit(base)
    assert str(mine) == stdnum_my_number.calc_check_digit(base)


@pytest.mark.parametrize(
    "text",
    [
        "621498320257",
        "6214-9832-0257",
        "６２１４９８３２０２５７",
        "6214 9832 0257 ",
        "123456789018",
    ],
)
def test_valid_my_numbers(text: str) -> None:
    assert is_valid_my_number(text)


@pytest.mark.parametrize(
    "text", ["621498320258", "62149832025", "6214983202570", "62149832025A", "", "○○○○○○○○○○○○"]
)
def test_invalid_my_numbers(text: str) -> None:
    assert not is_valid_my_number(text)


@given(BASES, st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_always_rejected(base: str, shift: int) -> None:
    wrong = (my_number_check_digit(base) + shift) % 10
    assert not is_valid_my_number(base + str(wrong))


@given(BASES, st.integers(min_value=0, max_value=10), st.integers(min_value=1, max_value=9))
def test_a_corrupted_base_digit_is_rejected(base: str, position: int, shift: int) -> None:
    number = base + str(my_number_check_digit(base))
    digit = str((int(number[position]) + shift) % 10)
    corrupted = number[:position] + digit + number[position + 1 :]
    # The statutory check maps remainders 0 and 1 both to 0, so a change between those two
    # remainders is the one single-digit error it cannot see; every other one is caught.
    blind_spot = my_number_check_digit(corrupted[:11]) == my_number_check_digit(base) == 0
    assert is_valid_my_number(corrupted) is blind_spot


def test_normalise_my_number_keeps_only_the_shape() -> None:
    assert normalise_my_number("６２１４－９８３２－０２５８") == "621498320258"
    assert normalise_my_number("6214-9832-025") is None


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("621498320257", "********0257"),
        ("6214-9832-0257", "********0257"),
        ("６２１４９８３２０２５７", "********0257"),
        ("123", "***"),
    ],
)
def test_mask_my_number(text: str, masked: str) -> None:
    assert mask_my_number(text) == masked


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("860-0001", "8600001"),
        ("8600001", "8600001"),
        ("〒860-0001", "8600001"),
        ("８６０－０００１", "8600001"),
        ("860ー0001", "8600001"),
        (" 860 0001 ", "8600001"),
        ("860-001", None),
        ("86000011", None),
        ("860-000A", None),
        ("", None),
    ],
)
def test_normalise_postal_code(text: str, code: str | None) -> None:
    assert normalise_postal_code(text) == code


def test_format_postal_code() -> None:
    assert format_postal_code("8600001") == "860-0001"


@pytest.mark.parametrize("code", ["431001", "131211", "011002", "472018"])
def test_known_municipality_codes(code: str) -> None:
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize("code", ["431002", "43100", "4310011", "４３１００１", "43100a"])
def test_bad_municipality_codes(code: str) -> None:
    assert not is_valid_municipality_code(code)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_municipality_check_digit_formula(first5: str) -> None:
    remainder = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True)) % 11
    expected = {0: 1, 1: 0}.get(remainder, 11 - remainder)  # DOMAIN.md §5.4
    assert municipality_check_digit(first5) == expected
    assert is_valid_municipality_code(first5 + str(expected))
