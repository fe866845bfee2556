"""What a call says aloud: numbers read naturally per language, counters only, in the order and
languages the office wants; the audio's name changes whenever the words or the voice do."""

import pytest

from app.domain.announcements import (
    VOICES,
    Announcement,
    announcement_languages,
    announcement_text,
    announcements_for,
    parse_office_languages,
)
from app.services.announcements import catalogues


def say(number: str, counter: str, language: str) -> str:
    return announcement_text(number, counter, language, catalogues()[language])


def test_japanese_reads_the_letter_the_number_and_the_counter() -> None:
    assert say("A-012", "3", "ja") == "エー の 12番の方、3番窓口へお越しください"
    assert say("B-007", "12", "ja") == "ビー の 7番の方、12番窓口へお越しください"


def test_easy_japanese_uses_plain_words_and_kana() -> None:
    text = say("A-012", "3", "ja-easy")
    assert text == "エー の 12ばんの かた、3ばんの まどぐちへ きて ください"
    assert "窓口" not in text and "お越し" not in text


def test_english_and_other_languages_say_number_and_counter() -> None:
    assert say("A-012", "3", "en") == "Number A 12, please come to counter 3"
    assert say("A-012", "3", "zh") == "A 12号，请到3号窗口"
    assert say("C-105", "2", "es") == "Número C 105, por favor, acuda a la ventanilla 2"
    assert say("A-001", "4", "ko").startswith("A 1번")


def test_a_counter_without_a_number_is_pointed_to_not_read_out() -> None:
    # A label is free text (「受付」): nothing but numbers is ever said.
    assert say("A-012", "受付", "ja") == "エー の 12番の方、画面に表示された窓口へお越しください"
    assert "受付" not in say("A-012", "受付", "en")


def test_not_a_ticket_number_is_refused() -> None:
    with pytest.raises(ValueError):
        say("山田太郎", "3", "ja")


def test_japanese_first_then_the_tickets_language() -> None:
    assert announcement_languages("ja") == ["ja"]
    assert announcement_languages("vi") == ["ja", "vi"]
    assert announcement_languages("ja-easy") == ["ja", "ja-easy"]
    # Filipino has no offline voice: English instead.
    assert announcement_languages("tl") == ["ja", "en"]


def test_an_office_limited_to_japanese_and_english() -> None:
    office = parse_office_languages("ja,en")
    assert announcement_languages("en", office) == ["ja", "en"]
    assert announcement_languages("zh", office) == ["ja", "en"]
    assert announcement_languages("ja-easy", office) == ["ja"]
    assert announcement_languages("zh", parse_office_languages("ja")) == ["ja"]
    assert parse_office_languages("") is None
    assert parse_office_languages("ja, xx ,ko") == ["ja", "ko"]


def test_each_language_has_a_voice_and_the_words_of_every_catalogue() -> None:
    for language in ["ja", "ja-easy", "en", "zh", "ko", "vi", "pt", "es", "ne", "id"]:
        (first, *rest) = announcements_for("A-012", "3", language, catalogues())
        assert first.language == "ja"
        said = rest[0] if rest else first
        assert said.voice == VOICES[language]
        assert "12" in said.text and "3" in said.text


def test_the_audio_name_follows_words_language_and_voice() -> None:
    base = Announcement("en", "Number A 12, please come to counter 3", VOICES["en"])
    assert base.digest == Announcement(base.language, base.text, base.voice).digest
    assert base.digest != Announcement("en", base.text + ".", base.voice).digest
    assert base.digest != Announcement("es", base.text, base.voice).digest
    assert base.digest != Announcement("en", base.text, "espeak-ng:en-gb").digest
