"""続柄 (relationship to the 世帯主) in the standard vocabulary (標準仕様書 1.1.11, j110).

Allowed: 世帯主, 縁故者, 同居人 on their own, or a chain of up to four links from
夫 妻 夫（未届） 妻（未届） 子 子（子の夫） 子（子の妻） 父 母 兄 姉 弟 妹 joined with 「の」
(子の子の子の子). A relationship needing five or more links is recorded as 縁故者. Words like
孫 or 長男 are not standard (j110 lists 孫 among what is not kept): unambiguous ones are
rewritten to the standard's own form (孫 → 子の子, its example ③; 婿 → 子（子の夫）, item ②),
ambiguous ones (祖父) are reported with the standard candidates.
"""

import re
import unicodedata
from dataclasses import dataclass

MAX_LINKS = 4
STANDALONE = frozenset({"世帯主", "縁故者", "同居人"})
LINKS = frozenset(
    {"夫", "妻", "夫（未届）", "妻（未届）", "子", "子（子の夫）", "子（子の妻）", "父", "母"}
    | {"兄", "姉", "弟", "妹"}
)
# j110 ②: a child's spouse is written 子（子の夫）/子（子の妻）, one link, not the chain 子の夫.
IN_LAW_CHILD = {"子の夫": "子（子の夫）", "子の妻": "子（子の妻）"}

# Everyday words with exactly one standard spelling.
ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "長男",
            "長女",
            "次男",
            "二男",
            "次女",
            "二女",
            "三男",
            "三女",
            "四男",
            "四女",
            "五男",
            "五女",
            "養子",
            "養女",
            "実子",
            "息子",
            "娘",
            "長子",
        ],
        "子",
    ),
    "孫": "子の子",
    "曾孫": "子の子の子",
    "曽孫": "子の子の子",
    "ひ孫": "子の子の子",
    "玄孫": "子の子の子の子",
    "婿": "子（子の夫）",
    "嫁": "子（子の妻）",
    "養父": "父",
    "養母": "母",
    "実父": "父",
    "実母": "母",
}
# Everyday words that could mean several standard chains: a person must pick one.
AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "祖父": ("父の父", "母の父"),
    "祖母": ("父の母", "母の母"),
    "義父": ("妻の父", "夫の父"),
    "義母": ("妻の母", "夫の母"),
    "兄弟": ("兄", "弟"),
    "姉妹": ("姉", "妹"),
    "甥": ("兄の子", "姉の子", "弟の子", "妹の子"),
    "姪": ("兄の子", "姉の子", "弟の子", "妹の子"),
    "叔父": ("父の弟", "母の弟", "父の妹の夫", "母の妹の夫"),
    "伯父": ("父の兄", "母の兄", "父の姉の夫", "母の姉の夫"),
    "叔母": ("父の妹", "母の妹", "父の弟の妻", "母の弟の妻"),
    "伯母": ("父の姉", "母の姉", "父の兄の妻", "母の兄の妻"),
    "配偶者": ("夫", "妻"),
    "本人": ("世帯主",),
}


@dataclass(frozen=True)
class RelationshipCheck:
    value: str  # the standard spelling, or the text as written when there is a problem
    code: str | None = None  # None / empty / not_standard / too_many_links
    suggestions: tuple[str, ...] = ()


def _prepare(text: str) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return s.replace("(", "（").replace(")", "）").replace("未届け", "未届")


def normalise_relationship(text: str) -> RelationshipCheck:
    """The standard 続柄 for ``text``, or the reason it cannot be one."""
    s = _prepare(text)
    if not s:
        return RelationshipCheck(text, "empty")
    if s in STANDALONE:
        return RelationshipCheck(s)
    s = s.removeprefix("世帯主の")  # 続柄 is relative to the head already: 世帯主の子 = 子
    if s in AMBIGUOUS:
        return RelationshipCheck(text, "not_standard", AMBIGUOUS[s])
    s = IN_LAW_CHILD.get(s, s)
    links: list[str] = []
    for word in re.split(r"の(?![^（]*）)", s):  # the の inside 子（子の夫） does not split
        expanded = ALIASES.get(word, word)
        links.extend(re.split(r"の(?![^（]*）)", expanded))
    if any(link not in LINKS for link in links):
        return RelationshipCheck(text, "not_standard", _suggest(s))
    if len(links) > MAX_LINKS:
        return RelationshipCheck(text, "too_many_links", ("縁故者",))
    return RelationshipCheck("の".join(links))


def _suggest(s: str) -> tuple[str, ...]:
    for word, choices in AMBIGUOUS.items():
        if word in s:  # 妻の祖父 → 妻の父の父, 妻の母の父
            return tuple(s.replace(word, choice) for choice in choices)
    return ("縁故者", "同居人")
