"""What the lobby says aloud when a number is called, per language. Pure: no I/O.

The words come from the kiosk's message catalogues (``announce.call`` and ``announce.call_shown``
in clients/web/common/i18n/<code>.json), passed in by the caller. An announcement says only the
ticket number and the counter: never a name, never the procedure.

Audio is a pure function of (text, language, voice): ``digest`` names the rendered file, so a
changed phrasing or voice is a new file and a rendered file never changes.
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The kiosk's languages (TicketLanguage), Japanese first.
LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en", "zh", "ko", "vi", "pt", "es", "tl", "ne", "id")

# The offline voice of each language: "engine:voice". Filipino has no offline voice (espeak-ng
# 1.51 has no Tagalog), so a Filipino ticket is announced in English, an official language of
# the Philippines (SPOKEN_AS).
VOICES: Mapping[str, str] = {
    "ja": "openjtalk:default",
    "ja-easy": "openjtalk:default:slow",
    "en": "espeak-ng:en-us",
    "zh": "espeak-ng:cmn",
    "ko": "espeak-ng:ko",
    "vi": "espeak-ng:vi",
    "pt": "espeak-ng:pt-br",
    "es": "espeak-ng:es",
    "ne": "espeak-ng:ne",
    "id": "espeak-ng:id",
}
SPOKEN_AS: Mapping[str, str] = {"tl": "en"}

# Category prefixes read aloud in Japanese (pyopenjtalk reads a bare "A" unreliably).
_LETTERS_JA = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (
            ["エー", "ビー", "シー", "ディー", "イー", "エフ", "ジー", "エイチ", "アイ"]
            + ["ジェー", "ケー", "エル", "エム", "エヌ", "オー", "ピー", "キュー", "アール"]
            + ["エス", "ティー", "ユー", "ブイ", "ダブリュー", "エックス", "ワイ", "ゼット"]
        ),
        strict=True,
    )
)
_NUMBER = re.compile(r"^([A-Z]{0,3})-?0*(\d{1,6})$")
_DIGEST = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Announcement:
    language: str  # the language spoken (tl is spoken as en)
    text: str
    voice: str

    @property
    def digest(self) -> str:
        return announcement_digest(self.text, self.language, self.voice)


def announcement_digest(text: str, language: str, voice: str) -> str:
    """The content address of the audio of ``text`` said in ``language`` by ``voice``."""
    source = "\x1f".join((voice, language, text)).encode("utf-8")
    return hashlib.sha256(source).hexdigest()[:32]


def is_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def spoken_language(language: str) -> str:
    """The language a ticket's announcement is said in (a language with no voice falls back)."""
    return SPOKEN_AS.get(language, language)


def split_number(number: str) -> tuple[str, int] | None:
    """``A-012`` → ``("A", 12)``; None for anything that is not a ticket number."""
    match = _NUMBER.match(number)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def prefix_aloud(prefix: str, language: str) -> str:
    if language in ("ja", "ja-easy"):
        return "・".join(_LETTERS_JA.get(letter, letter) for letter in prefix)
    return " ".join(prefix)


def announcement_text(
    number: str, counter_label: str, language: str, catalogue: Mapping[str, str]
) -> str:
    """The words of a call in ``language``, from that language's catalogue.

    A counter whose label is a number is said ("counter 3"); any other label (「受付」) is not
    read out but pointed to on the screen, so nothing but numbers is ever spoken."""
    parts = split_number(number)
    if parts is None:
        raise ValueError(f"not a ticket number: {number!r}")
    prefix, n = parts
    values = {"prefix": prefix_aloud(prefix, language), "n": str(n)}
    if counter_label.isascii() and counter_label.isdigit():
        template = catalogue["announce.call"]
        values["counter"] = str(int(counter_label))
    else:
        template = catalogue["announce.call_shown"]
    text = template.format(**values)
    return " ".join(text.split())


def announcement_languages(
    ticket_language: str, office_languages: Sequence[str] | None = None
) -> list[str]:
    """The languages a call is announced in, in order: Japanese, then the ticket's language when
    it differs. ``office_languages`` (the office's setting; None: every language) limits the
    second: a ticket in a language the office does not announce gets English when the office
    announces English, else Japanese only."""
    allowed = set(office_languages) if office_languages else set(VOICES) | set(SPOKEN_AS)
    spoken = ["ja"]
    wanted = ticket_language if ticket_language in allowed else None
    if wanted is None and ticket_language not in ("ja", "ja-easy") and "en" in allowed:
        wanted = "en"
    if wanted is not None:
        said = spoken_language(wanted)
        if said not in spoken:
            spoken.append(said)
    return spoken


def announcements_for(
    number: str,
    counter_label: str,
    ticket_language: str,
    catalogues: Mapping[str, Mapping[str, str]],
    office_languages: Sequence[str] | None = None,
) -> list[Announcement]:
    """Every announcement of one call, in the order the display plays them."""
    return [
        Announcement(
            language=language,
            text=announcement_text(number, counter_label, language, catalogues[language]),
            voice=VOICES[language],
        )
        for language in announcement_languages(ticket_language, office_languages)
    ]


def parse_office_languages(value: str) -> list[str] | None:
    """The office setting as stored ("ja,en"; empty: every language); unknown codes dropped."""
    codes = [code.strip() for code in value.split(",") if code.strip() in LANGUAGES]
    return codes or None


def sound_check_languages(office_languages: Sequence[str] | None) -> list[str]:
    """The languages of the test announcement: Japanese, then the office's other languages
    (spoken as they would be for a call); an office announcing every language (the default)
    tests Japanese and English, so a test does not last ten languages."""
    spoken = ["ja"]
    for language in office_languages or ("ja", "en"):
        said = spoken_language(language)
        if said in VOICES and said not in spoken:
            spoken.append(said)
    return spoken


def sound_check_announcements(
    catalogues: Mapping[str, Mapping[str, str]], office_languages: Sequence[str] | None = None
) -> list[Announcement]:
    """The fixed test phrase (``announce.test``), in the order the display plays it. No number,
    no counter: a test never names anyone and never counts as a call."""
    return [
        Announcement(
            language=language,
            text=" ".join(catalogues[language]["announce.test"].split()),
            voice=VOICES[language],
        )
        for language in sound_check_languages(office_languages)
    ]
