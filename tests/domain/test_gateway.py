"""The LINE/SMS gateway's rules: which numbers are mobile numbers, the signature a gateway
checks, what each answer means, and that every language's text fits three SMS parts."""

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from app.domain import gateway
from app.domain.errors import InvalidInput
from app.domain.notices import CALLED, NEAR, message

I18N = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"
CODES = [p.stem for p in I18N.glob("*.json") if p.stem != "languages"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("09012345678", "+819012345678"),
        ("090-1234-5678", "+819012345678"),
        ("080 1234 5678", "+818012345678"),
        (" 070-0000-9999 ", "+817000009999"),
        ("+819012345678", "+819012345678"),
        ("+81-80-1234-5678", "+818012345678"),
    ],
)
def test_japanese_mobile_numbers_are_kept_as_e164(given: str, kept: str) -> None:
    assert gateway.check_phone(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "0312345678",  # a landline
        "050-1234-5678",  # IP phone
        "0901234567",  # a digit short
        "090123456789",
        "+8109012345678",  # +81 keeps no leading 0
        "+1 415 555 0100",
        "０９０１２３４５６７８",  # full-width digits
        "090-1234-5678; DROP",
        "",
    ],
)
def test_other_numbers_are_refused_with_the_field(given: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        gateway.check_phone(given)
    assert refused.value.errors[0]["field"] == "phone"


def test_line_ids_are_opaque_but_bounded() -> None:
    assert gateway.check_line_id("U4af4980629-+/=") == "U4af4980629-+/="
    for bad in ("", "a b", "x" * 129, "名前", "a\nb"):
        with pytest.raises(InvalidInput):
            gateway.check_line_id(bad)


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_body() -> None:
    body = gateway.Payload("t1.near", "sms", "+819012345678", "ja", "まもなく", "A-1", NEAR).body()
    header = gateway.signature("secret", 1_800_000_000, body)
    expected = hmac.new(b"secret", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"
    assert json.loads(body)["text"] == "まもなく"  # UTF-8 as is
    assert gateway.verify("secret", header, body, now=1_800_000_100)
    assert not gateway.verify("secret", header, body, now=1_800_000_400)  # too old: replayed
    assert not gateway.verify("secret", header.replace("t=18", "t=17"), body, now=1_700_000_000)


def test_answers_delivered_retried_or_refused() -> None:
    assert gateway.outcome(200) is gateway.outcome(204) is gateway.Outcome.DELIVERED
    for status in (None, 408, 429, 500, 502, 503):
        assert gateway.outcome(status) is gateway.Outcome.RETRY
    for status in (301, 400, 401, 403, 404, 410, 422):
        assert gateway.outcome(status) is gateway.Outcome.REFUSED


@pytest.mark.parametrize("code", CODES)
def test_every_languages_text_fits_three_sms_parts(code: str) -> None:
    words = json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))
    figures = {"number": "A-123", "ahead": 99, "minutes": 120}
    for kind, counter in ((NEAR, None), (CALLED, "国民健康保険・国民年金窓口"), (CALLED, None)):
        body = message(words, kind, counter=counter, **figures).body  # type: ignore[arg-type]
        text = gateway.short_text(body)
        assert "A-123" in text and words["notify.footer"] not in text
        assert len(text) <= gateway.MAX_TEXT and gateway.sms_segments(text) <= 3, (code, text)
