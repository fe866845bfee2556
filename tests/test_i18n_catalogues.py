"""The kiosk's and status page's message catalogues: every language says everything Japanese
says, with the same placeholders, and the kiosk offers exactly the languages a ticket accepts."""

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from app.api.schemas import TicketLanguage

I18N = Path(__file__).resolve().parents[1] / "clients" / "web" / "common" / "i18n"
LANGUAGES = json.loads((I18N / "languages.json").read_text(encoding="utf-8"))
REQUIRED = {"ja", "ja-easy", "en", "zh", "ko", "vi", "pt", "es", "tl", "ne"}


def load(code: str) -> dict[str, str]:
    return dict(json.loads((I18N / f"{code}.json").read_text(encoding="utf-8")))


def placeholders(message: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", message))


def test_the_kiosk_offers_the_languages_a_ticket_accepts_and_each_has_a_catalogue() -> None:
    codes = [entry["code"] for entry in LANGUAGES]
    assert codes[0] == "ja"
    assert set(codes) >= REQUIRED
    assert sorted(codes) == sorted(get_args(TicketLanguage))
    files = {path.stem for path in I18N.glob("*.json")} - {"languages"}
    assert files == set(codes)
    assert all(entry["name"].strip() and entry["lang"].strip() for entry in LANGUAGES)


@pytest.mark.parametrize("code", [entry["code"] for entry in LANGUAGES if entry["code"] != "ja"])
def test_a_catalogue_has_exactly_the_japanese_keys_none_empty(code: str) -> None:
    japanese = load("ja")
    catalogue = load(code)
    assert sorted(set(japanese) - set(catalogue)) == [], "missing"
    assert sorted(set(catalogue) - set(japanese)) == [], "not in the Japanese catalogue"
    assert [key for key, value in catalogue.items() if not value.strip()] == [], "empty"
    wrong = [
        key
        for key, value in catalogue.items()
        if placeholders(value) != placeholders(japanese[key])
    ]
    assert wrong == [], "placeholders differ from the Japanese ones"


def test_the_japanese_catalogue_has_no_empty_message() -> None:
    assert [key for key, value in load("ja").items() if not value.strip()] == []
