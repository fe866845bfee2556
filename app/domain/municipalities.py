"""全国地方公共団体コード: five digits and a check digit (総務省 告示)."""


def municipality_check_digit(first5: str) -> int:
    """Check digit of a 地方公共団体コード: weights 6,5,4,3,2, check = (11 − r) mod 10."""
    total = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def is_valid_municipality_code(code: str) -> bool:
    """Six ASCII digits whose last is the check digit of the first five."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    return municipality_check_digit(code[:5]) == int(code[5])
