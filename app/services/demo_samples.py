"""The demo's sample applications: thirty forms across the procedures, as intake sends them.

Some come from OCR with a scanned page and low-confidence readings, some carry problems (an
invalid My Number, an impossible date, a missing field). Each has a fixed external_ref, so
seeding again finds it instead of storing it twice."""

import struct
import zlib
from datetime import date, datetime, timedelta
from typing import Any

from app.domain.validators.codes import my_number_check_digit
from app.services.intake import Envelope

# (family, given, family kana, given kana, child's given name, child's kana)
FAMILIES = [
    ("髙橋", "𠮷子", "タカハシ", "ヨシコ", "朗", "アキラ"),
    ("渡邊", "美咲", "ワタナベ", "ミサキ", "蓮", "レン"),
    ("齋藤", "健一", "サイトウ", "ケンイチ", "陽菜", "ヒナ"),
    ("山﨑", "真由美", "ヤマサキ", "マユミ", "湊", "ミナト"),
    ("佐藤", "花子", "サトウ", "ハナコ", "陽", "ヒナタ"),
    ("田中", "誠", "タナカ", "マコト", "結衣", "ユイ"),
    ("中村", "恵子", "ナカムラ", "ケイコ", "大翔", "ヒロト"),
    ("小林", "裕子", "コバヤシ", "ユウコ", "葵", "アオイ"),
    ("加藤", "直樹", "カトウ", "ナオキ", "樹", "イツキ"),
    ("吉田", "由美", "ヨシダ", "ユミ", "凛", "リン"),
]


def my_number(serial: int) -> str:
    base = f"{(31415926535 + serial * 7919) % 10**11:011d}"
    return base + str(my_number_check_digit(base))


def bad_my_number(serial: int) -> str:
    good = my_number(serial)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def scanned_page() -> bytes:
    """A small grey PNG standing in for a scanned form (the OCR attachment)."""
    width, height = 64, 90
    raw = b"".join(b"\x00" + bytes([0xE8 - (y % 9 == 0) * 0x40] * width) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _move_in(n: int, family: tuple[str, ...], problem: str | None) -> dict[str, Any]:
    surname, given, kana_s, kana_g, child, child_kana = family
    name = f"{surname} {given}"
    move_date = "R8.11.16" if problem is None else "R8.12.1"
    fields: dict[str, Any] = {
        "filing_date": "令和8年11月20日",
        "filer_name": name,
        "filer_relation": "self",
        "id_document": "my_number_card",
        "move_date": move_date,
        "new_address": f"熊本市中央区手取本町１－{n + 1}",
        "new_postal_code": "860-8601",
        "previous_address": "福岡市博多区博多駅前２丁目",
        "household_head_name": name,
        "transfer_method": "certificate",
        "previous_resident_code": "12345678903",
        "members": [
            {
                "name": name,
                "kana": f"{kana_s} {kana_g}",
                "birth_date": "昭和60年4月1日",
                "sex": "female",
                "relationship": "世帯主",
                "honseki": "福岡県福岡市",
                "hittousha": name,
                "my_number": bad_my_number(n) if problem == "my_number" else my_number(n),
            },
            {
                "name": f"{surname} {child}",
                "kana": f"{kana_s} {child_kana}",
                "birth_date": "令和2年6月3日",
                "sex": "male",
                "relationship": "子",
                "honseki": "福岡県福岡市",
                "hittousha": name,
            },
        ],
    }
    if problem == "date":
        fields["move_date"] = "令和8年2月30日"
    return {
        "procedure": "resident.move_in",
        "channel": "ocr",
        "applicant": {
            "family_name": surname,
            "given_name": given,
            "family_name_kana": kana_s,
            "given_name_kana": kana_g,
        },
        "fields": fields,
        "ocr": {
            "move_date": {"value": fields["move_date"], "confidence": 0.96},
            "new_address": {
                "value": fields["new_address"],
                "confidence": 0.58 + 0.03 * (n % 4),
                "image": f"crop://demo-{n:03d}/new_address",
            },
            "new_postal_code": {
                "value": "860-8601",
                "confidence": 0.64,
                "image": f"crop://demo-{n:03d}/new_postal_code",
            },
        },
    }


def _move_within(n: int, family: tuple[str, ...]) -> dict[str, Any]:
    body = _move_in(n, family, None)
    body["procedure"], body["channel"], body["ocr"] = "resident.move_within", "counter", None
    fields = body["fields"]
    for key in ("transfer_method", "previous_resident_code"):
        fields.pop(key)
    fields.update(
        move_date="令和8年11月14日",
        previous_address="熊本市中央区手取本町１－１",
        new_address=f"熊本市東区月出３－{n}",
    )
    fields["members"] = fields["members"][:1]
    return body


def _status_report(n: int, family: tuple[str, ...], problem: str | None) -> dict[str, Any]:
    surname, given, kana_s, kana_g, child, child_kana = family
    fields: dict[str, Any] = {
        "filing_date": "令和8年8月10日",
        "claimant_name": f"{surname} {given}",
        "claimant_kana": f"{kana_s} {kana_g}",
        "claimant_birth_date": "平成2年5月5日",
        "claimant_sex": "female",
        "claimant_address": f"熊本市東区月出３－{n}",
        "claimant_phone": "096-000-0000",
        "claimant_my_number": my_number(n),
        "certificate_number": f"K-2024-{n:03d}",
        "children": [
            {
                "name": f"{surname} {child}",
                "kana": f"{kana_s} {child_kana}",
                "birth_date": "平成30年1月9日",
                "relationship": "子",
                "living_together": True,
                "my_number": my_number(n + 100),
            }
        ],
        "previous_year_income": 1_500_000 + 50_000 * n,
        "child_support_amount": 0,
        "receives_public_pension": False,
    }
    if problem == "missing":
        del fields["certificate_number"]
    return {
        "procedure": "child_rearing.status_report",
        "channel": "bulk_ocr",
        "applicant": {"family_name": surname, "given_name": given},
        "fields": fields,
    }


def _allowance_claim(n: int, family: tuple[str, ...]) -> dict[str, Any]:
    surname, given, kana_s, kana_g, child, child_kana = family
    return {
        "procedure": "child_allowance.claim",
        "channel": "mail",
        "applicant": {"family_name": surname, "given_name": given},
        "fields": {
            "filing_date": "令和8年11月20日",
            "claimant_name": f"{surname} {given}",
            "claimant_kana": f"{kana_s} {kana_g}",
            "claimant_birth_date": "平成2年5月5日",
            "claimant_sex": "female",
            "claimant_address": f"熊本市中央区手取本町1-{n}",
            "claimant_phone": "096-000-0000",
            "claimant_my_number": my_number(n),
            "pension_type": "厚生年金等",
            "has_spouse": "無",
            "claim_reason": "出生",
            "reason_date": "令和8年11月10日",
            "payee_account_kind": "public_benefit",
            "children": [
                {
                    "name": f"{surname} {child}",
                    "kana": f"{kana_s} {child_kana}",
                    "birth_date": "令和8年11月10日",
                    "relationship": "子",
                    "living_together": "はい",
                }
            ],
        },
    }


def samples() -> list[dict[str, Any]]:
    """Thirty forms, each with its external_ref (demo-001 …), without received_at."""
    out: list[dict[str, Any]] = []
    for i in range(10):
        problem = {7: "my_number", 9: "date"}.get(i)
        out.append(_move_in(i + 1, FAMILIES[i], problem))
    for i in range(6):
        out.append(_move_within(i + 11, FAMILIES[(i + 3) % 10]))
    for i in range(8):
        out.append(_status_report(i + 17, FAMILIES[(i + 5) % 10], "missing" if i == 7 else None))
    for i in range(6):
        out.append(_allowance_claim(i + 25, FAMILIES[(i + 1) % 10]))
    for n, body in enumerate(out, start=1):
        body["external_ref"] = f"demo-{n:03d}"
    return out


def envelope(
    body: dict[str, Any], received_at: datetime, attachment: dict[str, Any] | None
) -> Envelope:
    return Envelope(
        procedure=body["procedure"],
        channel=body["channel"],
        received_at=received_at,
        external_ref=body["external_ref"],
        ticket=None,
        applicant=body["applicant"],
        fields=body["fields"],
        ocr=body.get("ocr"),
        attachments=[attachment] if attachment and body["channel"] == "ocr" else [],
        support_measure=False,
    )


def received_at(now: datetime, n: int) -> datetime:
    """Spread over the last days, one form every few hours."""
    return now - timedelta(hours=3 * (31 - n))


def portal_move_out(moved_out: date) -> dict[str, Any]:
    """A 転出届 filed on マイナポータル by a mother and her son moving to the demo city."""
    return {
        "filing_date": (moved_out - timedelta(days=7)).isoformat(),
        "filer_name": "松本 美咲",
        "filer_relation": "self",
        "id_document": "my_number_card",
        "planned_move_date": moved_out.isoformat(),
        "current_address": "福岡市中央区天神１丁目８番１号",
        "destination_address": "熊本市中央区手取本町１－１",
        "destination_household_head_name": "松本 美咲",
        "card_holder": True,
        "members": [
            {
                "name": "松本 美咲",
                "kana": "マツモト ミサキ",
                "birth_date": "平成2年7月14日",
                "sex": "female",
                "relationship": "世帯主",
            },
            {
                "name": "松本 湊",
                "kana": "マツモト ミナト",
                "birth_date": "令和3年2月8日",
                "sex": "male",
                "relationship": "子",
            },
        ],
    }
