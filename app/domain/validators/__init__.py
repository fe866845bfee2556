"""Pure validators for what residents write on forms, and the problem vocabulary they share.

A problem is ``{"field", "code", "message"}``: a stable machine ``code`` and a message in
Japanese with English alongside, e.g. "生年月日が元号の範囲外です (date outside its era)".
"""

Problem = dict[str, str]

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("{label}が未記入です", "required"),
    "unknown_field": ("{label}はこの手続の項目ではありません", "not a field of this procedure"),
    "unreadable": ("{label}に判読できない文字があります", "unreadable characters"),
    "wrong_type": ("{label}の値の形式が違います", "wrong kind of value"),
    "date_format": ("{label}を日付として読めません", "not a readable date"),
    "invalid_date": ("{label}が存在しない日付です", "no such date"),
    "era_range": ("{label}が元号の範囲外です", "date outside its era"),
    "before_gregorian": ("{label}が明治6年より前です", "before 1873, the Gregorian calendar"),
    "uncertain_not_allowed": (
        "{label}に不詳・推定の日付は使えません",
        "uncertain date not allowed",
    ),
    "future": ("{label}が未来の日付です", "date is in the future"),
    "my_number_format": ("{label}は12桁の数字です", "must be 12 digits"),
    "my_number_check_digit": ("{label}の検査用数字が合いません", "check digit does not match"),
    "my_number_placeholder": (
        "{label}が仮の番号（同じ数字の並び）です",
        "a placeholder, not a real number (all digits the same)",
    ),
    "my_number_not_string": (
        "{label}は文字列（12桁の数字）で送ってください",
        "must be sent as a string of 12 digits",
    ),
    "postal_code_format": ("{label}は7桁の数字です", "must be 7 digits"),
    "municipality_code_invalid": (
        "{label}が正しい地方公共団体コードではありません",
        "not a valid 6-digit municipality code",
    ),
    "not_kana": ("{label}にカタカナ以外の文字があります: {chars}", "not katakana"),
    "zengin_chars": (
        "{label}に口座名義で使えない文字があります: {chars}",
        "not allowed in a bank account name",
    ),
    "too_long": ("{label}が長すぎます（{limit}文字まで）", "longer than {limit} characters"),
    "account_holder_mismatch": (
        "{label}が請求者のフリガナと一致しません",
        "account holder differs from the claimant",
    ),
    "relationship_not_standard": (
        "{label}が標準の続柄ではありません（候補: {suggestions}）",
        "not a standard relationship; try {suggestions}",
    ),
    "relationship_too_many_links": (
        "{label}は「の」で5つ以上つながるため縁故者として記録します",
        "more than four links: record as 縁故者",
    ),
    "needs_identification": (
        "{label}にJIS外の文字があります（文字同定が必要）: {chars}",
        "characters outside JIS/CP932 need identification",
    ),
    "private_use": ("{label}に外字（私用領域）があります: {chars}", "private-use characters"),
    "variation_sequence": (
        "{label}に異体字セレクタ付きの文字があります: {chars}",
        "ideographic variation sequences",
    ),
    "not_cp932": (
        "{label}にCP932で出力できない文字があります: {chars}",
        "cannot be exported as CP932",
    ),
    "control": ("{label}に制御文字があります: {chars}", "control characters"),
    "not_integer": ("{label}は整数で記入してください", "not a whole number"),
    "out_of_range": ("{label}が範囲外です", "out of range"),
    "not_boolean": ("{label}は有・無（はい・いいえ）で記入してください", "not yes or no"),
    "not_a_choice": ("{label}が選択肢にありません", "not one of the choices"),
    "too_few_items": ("{label}は{limit}件以上必要です", "at least {limit} needed"),
    "too_many_items": ("{label}は{limit}件までです", "at most {limit} allowed"),
    "bank_account_invalid": ("{label}の{part}が正しくありません", "invalid {part}"),
    "seireki_required": (
        "{label}は西暦で記入してください",
        "write this date in the Western calendar",
    ),
    "resident_code_format": ("{label}は11桁の数字です", "must be 11 digits"),
    "resident_code_check_digit": ("{label}の検査数字が合いません", "check digit does not match"),
    "address_code_format": (
        "{label}は11桁の数字（都道府県2桁・市区町村3桁・大字3桁・小字3桁）です",
        "must be 11 digits: prefecture, municipality, ōaza and koaza",
    ),
    "residence_card_format": (
        "{label}は英字2桁・数字8桁・英字2桁です",
        "must be 2 letters, 8 digits and 2 letters",
    ),
    "move_within_one_city": (
        "{label}は新住所と同じ市です（政令市の区の間の異動を含む）: 転居届で届け出ます",
        "the same city as the new address (wards of one city included): file a 転居 instead",
    ),
    "stay_period_format": (
        "{label}は「3年」「1年6月」「90日」のように書きます（5年まで）",
        "write it as years, months or days, e.g. 3年, 1年6月, 90日 (at most 5 years)",
    ),
    "not_with_public_benefit_account": (
        "公金受取口座を選んだ場合、{label}は記入しません",
        "not used when the public-benefit account is chosen",
    ),
    "two_household_heads": (
        "世帯（{household}）に世帯主が2人います: {other}",
        "two heads of household in {household}: {other}",
    ),
    "household_head_mismatch": (
        "世帯（{household}）の世帯主 {other} の続柄が世帯主になっていません",
        "{other} is named head of household of {household} but not marked as such",
    ),
    "household_without_head": (
        "世帯（{household}）の世帯主が転出し、{count}人が残ります。先に世帯主変更届が必要です",
        "the head leaves {household} with {count} persons staying: a change of head comes first",
    ),
    "household_head_proposed": (
        "世帯（{household}）の世帯主が転出します。残る{other}を世帯主とします（職権）",
        "the head leaves {household}: {other}, the one person staying, becomes head",
    ),
    # Plausibility (warnings): what a reviewer checks with the resident before approving.
    "child_too_old_for_claimant": (
        "{label}が請求者の生年月日から10年未満です",
        "child born less than 10 years after the claimant",
    ),
    "move_date_far_future": (
        "{label}が{days}日より先の日付です",
        "more than {days} days in the future",
    ),
    "born_after_move": ("{label}が異動日より後です", "born after the date of the move"),
    "my_number_repeated": (
        "{label}が{other}と同じ個人番号です",
        "same My Number as {other}",
    ),
    "partial_stop_due": (
        "{label}: 一部支給停止の時期（{since}から）です。適用除外届を確認してください",
        "partial suspension applies from {since}; check for the exemption notice",
    ),
}
# Alerts need a reviewer's acknowledgement; every other code is an error that blocks
# 本登録 until corrected (標準仕様書 11.1, j1440).
ALERT_CODES = frozenset(
    {
        "not_cp932",
        "variation_sequence",
        "needs_identification",
        "account_holder_mismatch",
        "child_too_old_for_claimant",
        "move_date_far_future",
        "born_after_move",
        "my_number_repeated",
        "partial_stop_due",
        "household_head_proposed",
    }
)


def level(code: str) -> str:
    """``warning`` for an alert a reviewer may acknowledge, ``error`` for what blocks approval."""
    return "warning" if code in ALERT_CODES else "error"


def errors_in(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    """The error-level problems: an application with any of these cannot be approved."""
    return [p for p in problems if level(p["code"]) == "error"]


def warnings_in(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    """The warnings: approval needs each of them acknowledged by name (field and code)."""
    return [p for p in problems if level(p["code"]) == "warning"]


def with_levels(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    """The problems as the API shows them: each with its ``level``."""
    return [{**p, "level": level(p["code"])} for p in problems]


def problem(path: str, code: str, label: str, **extra: object) -> Problem:
    """One problem in the ``{field, code, message}`` shape, message in Japanese and English."""
    ja, en = MESSAGES[code]
    return {
        "field": path,
        "code": code,
        "message": f"{ja.format(label=label, **extra)} ({en.format(**extra)})",
    }
