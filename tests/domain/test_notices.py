"""When a near-turn notice is owed, and its words in every language of the kiosk."""

import json
from pathlib import Path

import pytest

from app.domain.errors import InvalidInput
from app.domain.notices import CALLED, NEAR, Rule, backoff_s, check_email, due_kind, message

RULE = Rule(near_ahead=3, near_minutes=10)
I18N = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"


def test_near_by_tickets_ahead_or_by_minutes_then_called_and_never_twice() -> None:
    none: frozenset[str] = frozenset()
    assert due_kind("waiting", 4, 20, none, RULE) is None
    assert due_kind("waiting", 3, 20, none, RULE) == NEAR
    assert due_kind("waiting", 8, 9, none, RULE) == NEAR  # the estimate fell below M
    assert due_kind("waiting", 2, 5, frozenset({NEAR}), RULE) is None
    assert due_kind("held", 0, 0, none, RULE) is None
    assert due_kind("called", 0, 0, none, RULE) == CALLED  # called before "near" went out
    assert due_kind("serving", 0, 0, frozenset({NEAR}), RULE) == CALLED
    assert due_kind("called", 0, 0, frozenset({NEAR, CALLED}), RULE) is None


def test_backoff_doubles_per_failure_in_a_row() -> None:
    assert [backoff_s(n, 5) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]


@pytest.mark.parametrize("address", ["a@b", "two@@example.jp", "x y@example.jp", "<a@b.jp>", ""])
def test_addresses_a_relay_would_refuse_are_refused_with_the_field(address: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_email(address)
    assert refused.value.errors[0]["field"] == "email"


@pytest.mark.parametrize("code", [p.stem for p in I18N.glob("*.json") if p.stem != "languages"])
def test_every_language_words_both_notices_with_the_number(code: str) -> None:
    words = json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))
    near = message(words, NEAR, number="A-012", ahead=3, minutes=9)
    called = message(words, CALLED, number="A-012", counter="Counter 4")
    assert "A-012" in near.subject and "A-012" in near.body and "9" in near.body
    assert "A-012" in called.body and "Counter 4" in called.body
    assert "{" not in near.body + called.body
