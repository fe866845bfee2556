"""A household reference of ASCII letters and digits has nothing to fold: it is kept as it is."""

import string

from hypothesis import given
from hypothesis import strategies as st

from app.domain import household


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=30))
def test_ascii_letters_and_digits_fold_to_themselves(text: str) -> None:
    assert household._fold(text) == text == household.fold_address(text)


def test_other_text_is_still_folded() -> None:
    assert household.fold_address("１丁目２番３号") == "1-2-3"
    assert household.fold_address("H 12") == "H12"
