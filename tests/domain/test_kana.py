import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validators.kana import (
    furigana_offending_chars,
    normalise_furigana,
    to_zengin_kana,
    zengin_offending_chars,
)

HIRAGANA = "".join(chr(c) for c in range(ord("ぁ"), ord("ゖ") + 1))
KATAKANA = "".join(chr(c) for c in range(ord("ァ"), ord("ヶ") + 1)) + "ー"
SMALL = set("ァィゥェォッャュョヮヵヶ")


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("ヤマダ　タロウ", "ヤマダ\u3000タロウ"),
        ("やまだ たろう", "ヤマダ\u3000タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ\u3000タロウ"),  # half-width with a separate voicing mark
        ("ﾊﾟﾝﾀﾞ", "パンダ"),
        ("  ヤマダ   タロウ  ", "ヤマダ\u3000タロウ"),
        ("こーひー", "コーヒー"),
        ("ｺｰﾋｰ", "コーヒー"),
        ("コ－ヒ-", "コーヒー"),  # dashes in a kana field can only be the long-vowel mark
        ("ゔぃくとりあ", "ヴィクトリア"),
        ("スミス・ジョン", "スミス・ジョン"),
        ("ｽﾐｽ･ｼﾞｮﾝ", "スミス・ジョン"),
    ],
)
def test_normalise_furigana(written: str, stored: str) -> None:
    assert normalise_furigana(written) == stored
    assert furigana_offending_chars(stored) == []


@pytest.mark.parametrize(
    ("written", "offending"),
    [("山田 タロウ", ["山", "田"]), ("ヤマダ Taro", ["T", "a", "r", "o"]), ("ヤマダ2", ["2"])],
)
def test_non_kana_is_reported(written: str, offending: list[str]) -> None:
    assert furigana_offending_chars(normalise_furigana(written)) == offending


@given(st.text(alphabet=HIRAGANA + KATAKANA + " \u3000", max_size=20))
def test_furigana_is_katakana_and_stable(text: str) -> None:
    once = normalise_furigana(text)
    assert normalise_furigana(once) == once
    assert furigana_offending_chars(once) == []


@pytest.mark.parametrize(
    ("written", "zengin"),
    [
        ("キュウヨ", "ｷﾕｳﾖ"),  # small kana are written large
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("コーヒー", "ｺ-ﾋ-"),  # no 長音 mark: a hyphen instead
        ("ヴィクトリア", "ｳﾞｲｸﾄﾘｱ"),
        ("ヰヱ", "ｲｴ"),
        ("ｼﾞｮﾝ smith", "ｼﾞﾖﾝ SMITH"),
        ("スミス・ジョン", "ｽﾐｽ.ｼﾞﾖﾝ"),
        ("カ）ヤマダショウテン", "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ"),
    ],
)
def test_zengin_kana(written: str, zengin: str) -> None:
    assert to_zengin_kana(written) == zengin
    assert zengin_offending_chars(zengin) == []


@pytest.mark.parametrize(
    ("written", "offending"), [("ヤマダ,タロウ", [","]), ("山田", ["山", "田"]), ("ﾔﾏﾀﾞ!", ["!"])]
)
def test_zengin_rejects_what_banks_reject(written: str, offending: list[str]) -> None:
    assert zengin_offending_chars(to_zengin_kana(written)) == offending


@given(st.text(alphabet=HIRAGANA + KATAKANA + " ", max_size=30))
def test_zengin_kana_of_any_kana_is_bank_safe(text: str) -> None:
    zengin = to_zengin_kana(text)
    assert zengin_offending_chars(zengin) == []
    assert not SMALL & set(normalise_furigana(zengin))
    assert zengin == zengin.strip()
