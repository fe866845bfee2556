import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validators.relationship import IN_LAW_CHILD, LINKS, normalise_relationship


@pytest.mark.parametrize(
    ("written", "standard"),
    [
        ("世帯主", "世帯主"),
        ("妻", "妻"),
        ("子", "子"),
        ("子の子の子の子", "子の子の子の子"),  # four links: the longest chain allowed
        ("妻の父", "妻の父"),
        ("妻(未届)", "妻（未届）"),
        ("夫（未届け）", "夫（未届）"),
        ("妻（未届）の子", "妻（未届）の子"),
        ("縁故者", "縁故者"),
        ("同居人", "同居人"),
        (" 子 ", "子"),
        ("長男", "子"),
        ("次女", "子"),
        ("養子", "子"),
        ("妻の長男", "妻の子"),
        ("孫", "子の子"),
        ("曾孫", "子の子の子"),
        ("嫁", "子（子の妻）"),  # j110 ②: one link, not the chain 子の妻
        ("婿", "子（子の夫）"),
        ("子の夫", "子（子の夫）"),
        ("子(子の妻)", "子（子の妻）"),
        ("婿の父", "子（子の夫）の父"),
        ("世帯主の子", "子"),
    ],
)
def test_standard_relationships(written: str, standard: str) -> None:
    checked = normalise_relationship(written)
    assert (checked.value, checked.code) == (standard, None)


@pytest.mark.parametrize(
    ("written", "code", "suggestions"),
    [
        ("祖父", "not_standard", ("父の父", "母の父")),
        ("甥", "not_standard", ("兄の子", "姉の子", "弟の子", "妹の子")),
        ("妻の祖母", "not_standard", ("妻の父の母", "妻の母の母")),
        ("友人", "not_standard", ("縁故者", "同居人")),
        ("世帯主の世帯主", "not_standard", ("縁故者", "同居人")),
        ("子の", "not_standard", ("縁故者", "同居人")),
        ("子の子の子の子の子", "too_many_links", ("縁故者",)),
        ("孫の孫の子", "too_many_links", ("縁故者",)),
        ("", "empty", ()),
    ],
)
def test_non_standard_relationships_keep_what_was_written(
    written: str, code: str, suggestions: tuple[str, ...]
) -> None:
    checked = normalise_relationship(written)
    assert (checked.value, checked.code, checked.suggestions) == (written, code, suggestions)


LINK = st.sampled_from(sorted(LINKS))


@given(st.lists(LINK, min_size=1, max_size=4))
def test_chains_of_up_to_four_links_are_standard(links: list[str]) -> None:
    chain = "の".join(links)
    # j110 ②: the two-link 子の夫/子の妻 alone is written 子（子の夫）/子（子の妻）
    assert normalise_relationship(chain).value == IN_LAW_CHILD.get(chain, chain)
    assert normalise_relationship(chain).code is None


@given(st.lists(LINK, min_size=5, max_size=8))
def test_chains_of_five_or_more_links_are_enko(links: list[str]) -> None:
    checked = normalise_relationship("の".join(links))
    assert checked.code == "too_many_links"
    assert checked.suggestions == ("縁故者",)
