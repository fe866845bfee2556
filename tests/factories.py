"""Realistic application envelopes, as intake systems send them."""

from datetime import UTC, datetime
from typing import Any

from app.domain.validators.codes import my_number_check_digit


def my_number(base11: str = "62149832025") -> str:
    return base11 + str(my_number_check_digit(base11))


def move_in(**overrides: Any) -> dict[str, Any]:
    """A 転入届 of a parent and a child, keyed at the counter from an OCR'd form."""
    body: dict[str, Any] = {
        "procedure": "resident.move_in",
        "channel": "ocr",
        "received_at": datetime.now(UTC).isoformat(),
        "applicant": {
            "family_name": "髙橋",
            "given_name": "𠮷子",
            "family_name_kana": "タカハシ",
            "given_name_kana": "ヨシコ",
        },
        "fields": {
            "filing_date": "令和8年11月20日",
            "filer_name": "髙橋 𠮷子",
            "filer_relation": "self",
            "id_document": "my_number_card",
            "move_date": "R8.11.16",
            "new_address": "熊本市中央区手取本町１－１",
            "new_postal_code": "860-8601",
            "previous_address": "福岡市博多区博多駅前２丁目",
            "household_head_name": "髙橋 𠮷子",
            "transfer_method": "certificate",
            "previous_resident_code": "12345678903",
            "members": [
                {
                    "name": "髙橋 𠮷子",
                    "kana": "たかはし よしこ",
                    "birth_date": "昭和60年4月1日",
                    "sex": "female",
                    "relationship": "世帯主",
                    "honseki": "福岡県福岡市",
                    "hittousha": "髙橋 𠮷子",
                    "my_number": my_number(),
                },
                {
                    "name": "髙橋 朗",
                    "kana": "タカハシ アキラ",
                    "birth_date": "令和2年6月3日",
                    "sex": "male",
                    "relationship": "子",
                    "honseki": "福岡県福岡市",
                    "hittousha": "髙橋 𠮷子",
                },
            ],
        },
        "ocr": {
            "move_date": {"value": "R8.11.16", "confidence": 0.97},
            "new_address": {
                "value": "熊本市中央区手取本町１－１",
                "confidence": 0.72,
                "image": "crop://1/new_address",
            },
        },
    }
    body.update(overrides)
    return body


def status_report(ref: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A 児童扶養手当 現況届 from a bulk OCR run."""
    body: dict[str, Any] = {
        "procedure": "child_rearing.status_report",
        "channel": "bulk_ocr",
        "received_at": datetime.now(UTC).isoformat(),
        "applicant": {"family_name": "佐藤", "given_name": "花子"},
        "fields": {
            "filing_date": "令和8年8月10日",
            "claimant_name": "佐藤 花子",
            "claimant_kana": "サトウ ハナコ",
            "claimant_birth_date": "平成2年5月5日",
            "claimant_sex": "female",
            "claimant_address": "熊本市東区月出３－１",
            "claimant_phone": "096-000-0000",
            "claimant_my_number": my_number("12345678901"),
            "certificate_number": "K-2024-001",
            "children": [
                {
                    "name": "佐藤 陽",
                    "kana": "サトウ ヒナタ",
                    "birth_date": "平成30年1月9日",
                    "relationship": "子",
                    "living_together": True,
                    "my_number": my_number("98765432109"),
                }
            ],
            "previous_year_income": 1800000,
            "child_support_amount": 0,
            "receives_public_pension": False,
        },
    }
    if ref:
        body["external_ref"] = ref
    body.update(overrides)
    return body


NEW_CHANGE_NOTIFICATIONS = (  # issue #18: the change notifications added to the catalogue
    "child_rearing.revision",
    "child_rearing.suspension_notice",
    "child_rearing.pension_status",
    "child_rearing.loss_notice",
    "child_allowance.account_change",
)


def change_notification_fields(procedure: str) -> dict[str, Any]:
    """A valid, filled-in form of one of ``NEW_CHANGE_NOTIFICATIONS`` (filed 2026-11-20)."""
    claimant: dict[str, Any] = {
        "filing_date": "令和8年11月20日",
        "claimant_name": "佐藤 花子",
        "claimant_kana": "サトウ ハナコ",
        "claimant_birth_date": "平成2年5月5日",
        "claimant_address": "熊本市東区月出３－１",
        "claimant_phone": "096-000-0000",
        "claimant_my_number": my_number("12345678901"),
        "certificate_number": "K-2024-001",
    }
    child = {
        "name": "佐藤 陽",
        "kana": "サトウ ヒナタ",
        "birth_date": "平成30年1月9日",
        "relationship": "子",
        "living_together": True,
    }
    forms: dict[str, dict[str, Any]] = {
        "child_rearing.revision": {
            "claimant_sex": "female",
            "revision_kind": "decrease",
            "reason_date": "令和8年11月1日",
            "children": [child | {"change": "removed"}],
        },
        "child_rearing.suspension_notice": {
            "change_kind": "dependant_joined",
            "change_date": "令和8年11月1日",
            "dependants": [
                {
                    "name": "佐藤 一郎",
                    "relationship": "父",
                    "my_number": my_number("98765432109"),
                    "income": 2000000,
                }
            ],
        },
        "child_rearing.pension_status": {
            "pension_recipient": "recipient",
            "pension_kind": "survivors",
            "pension_name": "遺族厚生年金",
            "pension_start_date": "令和8年10月1日",
            "pension_annual_amount": 600000,
            "pension_certificate_attached": True,
        },
        "child_rearing.loss_notice": {"loss_reason": "marriage", "loss_date": "令和8年11月3日"},
        "child_allowance.account_change": {
            "recipient_number": "R-2024-001",
            "bank_account": {
                "bank_code": "0001",
                "branch_code": "001",
                "account_type": "普通",
                "account_number": "1234567",
            },
            "account_name_kana": "サトウ ハナコ",
        },
    }
    if procedure == "child_allowance.account_change":
        del claimant["certificate_number"]
    return claimant | forms[procedure]
