import copy
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.catalogue import load_catalogue
from app.domain.fields import validate_fields
from app.domain.validators import ALERT_CODES, MESSAGES
from app.domain.validators.names import check_name, is_unchanged

TODAY = date(2024, 4, 10)
MOVE_IN = load_catalogue().get("resident.move_in")
CLAIM = load_catalogue().get("child_allowance.claim")

MEMBER = {
    "name": "山田太郎",
    "kana": "やまだ たろう",
    "birth_date": "昭和50年5月1日",
    "sex": "男",
    "relationship": "世帯主",
    "honseki": "熊本県熊本市中央区手取本町1番",
    "hittousha": "山田太郎",
}
GOOD_MOVE_IN = {
    "filing_date": "令和6年4月10日",
    "filer_name": "山田太郎",
    "filer_relation": "本人",
    "id_document": "drivers_license",
    "move_date": "R6.4.1",
    "new_address": "熊本市中央区手取本町1番1号",
    "new_katagaki": "手取ハイツ101",
    "new_postal_code": "860-0806",
    "previous_address": "福岡市中央区天神1丁目1番1号",
    "household_head_name": "山田太郎",
    "transfer_method": "転出証明書",
    "previous_resident_code": "12345678903",
    "members": [
        MEMBER,
        {
            **MEMBER,
            "name": "山田花子",
            "kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
            "birth_date": "平成27年7月7日",
            "sex": "female",
            "relationship": "長女",
            "my_number": "６２１４－９８３２－０２５７",
        },
    ],
}
GOOD_CLAIM = {
    "filing_date": "R6.5.10",
    "claimant_name": "山田太郎",
    "claimant_kana": "ヤマダ タロウ",
    "claimant_birth_date": "S50.5.1",
    "claimant_sex": "男",
    "claimant_address": "熊本市中央区",
    "claimant_phone": "096-000-0000",
    "claimant_my_number": "621498320257",
    "pension_type": "厚生年金等",
    "has_spouse": "無",
    "claim_reason": "出生",
    "reason_date": "令和6年4月30日",
    "children": [
        {
            "name": "山田一郎",
            "kana": "ヤマダ イチロウ",
            "birth_date": "R6.4.30",
            "relationship": "子",
            "living_together": "はい",
        }
    ],
    "bank_account": {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "12345",
    },
    "account_name_kana": "ヤマダ タロウ",
}


def codes(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in problems]


def test_a_clean_move_in_has_no_problems() -> None:
    values, problems = validate_fields(MOVE_IN, GOOD_MOVE_IN, TODAY)
    assert problems == []
    assert values["move_date"] == {
        "iso": "2024-04-01",
        "written": "R6.4.1",
        "uncertain": None,
        "earliest": "2024-04-01",
        "latest": "2024-04-01",
    }
    assert values["filer_relation"] == "self" and values["transfer_method"] == "certificate"
    assert values["new_postal_code"] == "8600806"
    child = values["members"][1]  # type: ignore[index]
    assert child["kana"] == "ヤマダ\u3000ハナコ"
    assert child["relationship"] == "子"
    assert child["my_number"] == "621498320257"
    assert child["sex"] == "female"


def test_a_clean_claim_has_no_problems() -> None:
    values, problems = validate_fields(CLAIM, GOOD_CLAIM, date(2024, 5, 10))
    assert problems == []
    assert values["bank_account"] == {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "ordinary",
        "account_number": "0012345",
    }
    assert values["account_name_kana"] == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert values["has_spouse"] is False


def test_problem_shape_and_messages() -> None:
    fields = copy.deepcopy(GOOD_MOVE_IN)
    fields["members"][1]["birth_date"] = "平成31年5月1日"  # type: ignore[index]
    del fields["move_date"]
    _, problems = validate_fields(MOVE_IN, fields, TODAY)
    assert problems == [
        {
            "field": "members[1].birth_date",
            "code": "era_range",
            "message": "生年月日が元号の範囲外です (date outside its era)",
        },
        {
            "field": "move_date",
            "code": "required",
            "message": "転入日（住所を定めた日）が未記入です (required)",
        },
    ]


def test_conditional_fields() -> None:
    proxy = {**GOOD_MOVE_IN, "filer_relation": "代理人"}
    assert codes(validate_fields(MOVE_IN, proxy, TODAY)[1]) == [
        ("filer_address", "required"),
        ("power_of_attorney", "required"),
    ]
    card = {**GOOD_MOVE_IN, "transfer_method": "card_special"}
    del card["previous_resident_code"]
    assert codes(validate_fields(MOVE_IN, card, TODAY)[1]) == [
        ("planned_move_out_date", "required")
    ]
    foreign = copy.deepcopy(GOOD_MOVE_IN)
    member = foreign["members"][0]  # type: ignore[index]
    del member["honseki"], member["hittousha"]
    member.update(is_foreign="はい", residence_category="中長期在留者", birth_date="1975-05-01")
    assert codes(validate_fields(MOVE_IN, foreign, TODAY)[1]) == [
        (f"members[0].{key}", "required")
        for key in (
            "name_alphabet",
            "nationality",
            "residence_status",
            "residence_period",
            "residence_period_end",
            "residence_card_number",
        )
    ]
    # The same person filing a 転出 or a 世帯変更 is asked the same 外国人住民 items.
    for code in ("resident.move_out", "resident.household_change"):
        procedure = load_catalogue().get(code)
        keys = {f.key for f in next(f for f in procedure.fields if f.key == "members").fields}
        assert {
            "name_alphabet",
            "common_name",
            "nationality",
            "residence_category",
            "residence_status",
            "residence_period",
            "residence_period_end",
            "residence_card_number",
        } <= keys, code
    member.update(
        name_alphabet="NGUYEN VAN AN",
        nationality="ベトナム",
        residence_status="技術・人文知識・国際業務",
        residence_period="3年",
        residence_period_end="2028-04-01",
        residence_card_number="AB12345678C",
    )
    assert codes(validate_fields(MOVE_IN, foreign, TODAY)[1]) == [
        ("members[0].residence_card_number", "residence_card_format")
    ]
    member.update(residence_card_number="AB12345678CD", residence_period="6年")
    assert codes(validate_fields(MOVE_IN, foreign, TODAY)[1]) == [
        ("members[0].residence_period", "stay_period_format")
    ]


@pytest.mark.parametrize(
    ("birth_date", "problem"),
    [
        ("年月日不詳", None),  # 不詳 and impossible days are allowed for 生年月日 (j80)
        ("昭和50年頃", None),
        ("令和5年2月29日", None),
        ("令和7年1月1日", "future"),
        ("平成31年5月1日", "era_range"),
    ],
)
def test_birth_dates(birth_date: str, problem: str | None) -> None:
    fields = copy.deepcopy(GOOD_MOVE_IN)
    fields["members"][0]["birth_date"] = birth_date  # type: ignore[index]
    values, problems = validate_fields(MOVE_IN, fields, TODAY)
    assert codes(problems) == ([("members[0].birth_date", problem)] if problem else [])
    assert values["members"][0]["birth_date"]["written"] == birth_date  # type: ignore[index]


@pytest.mark.parametrize(
    ("move_date", "problem"),
    [
        ("令和6年4月11日", "future"),
        ("令和6年4月頃", "uncertain_not_allowed"),
        ("令和6年2月30日", "invalid_date"),
        ("4月1日", "date_format"),
        ("R6.4.●", "unreadable"),
    ],
)
def test_other_dates_must_be_real_and_past(move_date: str, problem: str) -> None:
    values, problems = validate_fields(MOVE_IN, {**GOOD_MOVE_IN, "move_date": move_date}, TODAY)
    assert codes(problems) == [("move_date", problem)]
    assert values["move_date"]["written"] == move_date  # type: ignore[index]
    if problem != "future":
        assert values["move_date"]["iso"] is None  # type: ignore[index]


NAMES = [
    "\ufa19田",  # CJK compatibility ideograph: NFC would turn it into U+795E
    "\ufa10本",  # 塚
    "葛\U000e0100城",  # an IVS sequence
    "髙橋",  # CP932 (IBM) extension
    "山﨑",
    "𠮷田",
    "ﾔﾏﾀﾞ",  # half-width on a name field: kept
    "Ｙａｍａｄａ　１",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_are_never_altered(name: str) -> None:
    fields = {**GOOD_MOVE_IN, "household_head_name": name, "new_katagaki": name}
    values, _ = validate_fields(MOVE_IN, fields, TODAY)
    assert values["household_head_name"] is name
    assert is_unchanged(name, values["new_katagaki"])  # type: ignore[arg-type]


def test_the_names_above_really_would_be_changed_by_normalisation() -> None:
    assert unicodedata.normalize("NFC", "\ufa19") != "\ufa19"
    assert unicodedata.normalize("NFKC", "Ｙａｍａｄａ") != "Ｙａｍａｄａ"


@given(st.text(min_size=1, max_size=20).filter(str.strip))
def test_any_name_comes_back_byte_identical(name: str) -> None:
    values, _ = validate_fields(MOVE_IN, {**GOOD_MOVE_IN, "household_head_name": name}, TODAY)
    stored = values["household_head_name"]
    assert isinstance(stored, str) and stored.encode("utf-8") == name.encode("utf-8")


@pytest.mark.parametrize(
    ("name", "issues"),
    [
        ("髙橋", []),
        ("山﨑", []),
        ("\ufa19田", []),
        ("𠮷田", [("needs_identification", ("𠮷",))]),
        ("葛\U000e0100城", [("variation_sequence", ("葛\U000e0100",))]),
        ("山\ue000", [("private_use", ("\ue000",))]),
        ("山田〜", [("not_cp932", ("〜",))]),
        ("屛風", [("not_cp932", ("屛",))]),  # JIS X 0213 but not CP932
        ("山田\u200b", [("control", ("\u200b",))]),
    ],
)
def test_name_checks(name: str, issues: list[tuple[str, tuple[str, ...]]]) -> None:
    assert [(i.code, i.chars) for i in check_name(name)] == issues


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("claimant_my_number", "621498320258", "my_number_check_digit"),
        ("claimant_my_number", "62149832025", "my_number_format"),
        ("claimant_kana", "山田", "not_kana"),
        ("claimant_postal_code", "860-00", "postal_code_format"),
        ("pension_type", "共済", "not_a_choice"),
        ("has_spouse", "たぶん", "not_boolean"),
        ("claimant_phone", "0" * 21, "too_long"),
        ("claimant_address", "熊本市𠮷", "needs_identification"),
        ("account_name_kana", "ヤマダ ハナコ", "account_holder_mismatch"),
        ("account_name_kana", "ヤマダ,タロウ", "zengin_chars"),
        (
            "bank_account",
            {"bank_code": "1", "branch_code": "001", "account_type": "普通", "account_number": "1"},
            "bank_account_invalid",
        ),
        ("bank_account", {"bank_code": "0001"}, "bank_account_invalid"),
        ("bank_account", "0001-001-1234567", "wrong_type"),
        ("children", {"name": "x"}, "wrong_type"),
        ("claimant_name", "山●太郎", "unreadable"),
        ("claimant_name", 42, "wrong_type"),
    ],
)
def test_field_problems(key: str, value: object, code: str) -> None:
    values, problems = validate_fields(CLAIM, {**GOOD_CLAIM, key: value}, date(2024, 5, 10))
    assert codes(problems) == [(key, code)]
    if code in ("unreadable", "wrong_type", "my_number_format", "bank_account_invalid"):
        assert values[key] == value  # kept exactly as written


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        (
            {"yucho_symbol": "12345", "yucho_number": "1234561"},
            {"yucho_symbol": "12345", "yucho_number": "1234561"},
        ),
        (
            {
                "bank_code": "０００９",
                "branch_code": "123",
                "account_type": "当座",
                "account_number": "7654321",
            },
            {
                "bank_code": "0009",
                "branch_code": "123",
                "account_type": "current",
                "account_number": "7654321",
            },
        ),
    ],
)
def test_bank_accounts(value: dict[str, str], normalised: dict[str, str]) -> None:
    fields = {**GOOD_CLAIM, "bank_account": value}
    values, problems = validate_fields(CLAIM, fields, date(2024, 5, 10))
    assert problems == [] and values["bank_account"] == normalised


def test_relationship_problems_suggest_standard_terms() -> None:
    fields = copy.deepcopy(GOOD_MOVE_IN)
    fields["members"][1]["relationship"] = "祖父"  # type: ignore[index]
    values, problems = validate_fields(MOVE_IN, fields, TODAY)
    assert codes(problems) == [("members[1].relationship", "relationship_not_standard")]
    assert "父の父・母の父" in problems[0]["message"]
    assert values["members"][1]["relationship"] == "祖父"  # type: ignore[index]


def test_groups() -> None:
    _, problems = validate_fields(MOVE_IN, {**GOOD_MOVE_IN, "members": []}, TODAY)
    assert codes(problems) == [("members", "required")]
    many = {**GOOD_MOVE_IN, "members": [MEMBER] * 21}
    assert codes(validate_fields(MOVE_IN, many, TODAY)[1]) == [("members", "too_many_items")]
    odd = {**GOOD_MOVE_IN, "members": [{**MEMBER, "blood_type": "A"}]}
    values, problems = validate_fields(MOVE_IN, odd, TODAY)
    assert codes(problems) == [("members[0].blood_type", "unknown_field")]
    assert values["members"][0]["blood_type"] == "A"  # type: ignore[index]


def test_integers() -> None:
    procedure = load_catalogue().get("child_rearing.status_report")
    for written, expected, code in [
        ("1,234,000円", 1234000, None),
        ("１２００", 1200, None),
        (-1, -1, "out_of_range"),
        ("多い", "多い", "not_integer"),
    ]:
        values, problems = validate_fields(procedure, {"previous_year_income": written}, TODAY)
        assert values["previous_year_income"] == expected
        assert ("previous_year_income", code) in codes(problems) or code is None


def test_every_code_has_a_message_and_alerts_are_codes() -> None:
    assert set(MESSAGES) >= ALERT_CODES
    assert all(ja and en for ja, en in MESSAGES.values())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60)
@given(st.sampled_from(load_catalogue().codes), st.data())
def test_never_raises_on_any_input(code: str, data: st.DataObject) -> None:
    procedure = load_catalogue().get(code)
    keys = st.sampled_from([spec.key for spec in procedure.fields]) | st.text(max_size=6)
    fields = data.draw(st.dictionaries(keys, JSON, max_size=8))
    values, problems = validate_fields(procedure, fields, TODAY)
    assert set(values) <= set(fields)
    for problem in problems:
        assert set(problem) == {"field", "code", "message"}
        assert problem["code"] in MESSAGES
        assert problem["message"].endswith(")")


def test_a_move_in_keeps_its_address_code_and_a_separate_mailing_address() -> None:
    form = {
        **GOOD_MOVE_IN,
        "new_address_code": "４３１０１－００１－００２",
        "mailing_address": "福岡市中央区天神1丁目1番1号 山田方",
        "mailing_postal_code": "810-0001",
    }
    values, problems = validate_fields(MOVE_IN, form, TODAY)
    assert problems == []
    assert values["new_address_code"] == "43101001002"
    assert values["new_address"] == "熊本市中央区手取本町1番1号"  # the residence is untouched
    assert values["mailing_address"] == "福岡市中央区天神1丁目1番1号 山田方"
    assert values["mailing_postal_code"] == "8100001"
    bad = {**GOOD_MOVE_IN, "new_address_code": "48101001002"}
    values, problems = validate_fields(MOVE_IN, bad, TODAY)
    assert codes(problems) == [("new_address_code", "address_code_format")]
    assert values["new_address_code"] == "48101001002"  # kept as written
