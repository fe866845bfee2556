"""The one shape every JSON value the service accepts must have (request bodies, bulk lines,
websocket messages): bounded depth, string length, object size and array length, and only
finite numbers of a safe size. Pure: no I/O, nothing here raises on bad input.

``loads`` parses JSON text the way the edge does (``NaN``/``Infinity`` and numbers too big for
a float become markers instead of being accepted or turned into 0); ``check_shape`` lists the
problems of a parsed value as ``{"field", "code", "message"}`` with a path such as
``fields.children[0].name``.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

Problem = dict[str, str]

# JavaScript's Number.MAX_SAFE_INTEGER: every console and vendor tool reads these exactly.
SAFE_INTEGER = 2**53 - 1
# More problems than this are not listed one by one: the first ones are enough to fix the input.
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class ShapeLimits:
    max_depth: int = 32
    max_string_chars: int = 20_000
    max_members: int = 1_000
    max_items: int = 1_000
    max_abs_integer: int = SAFE_INTEGER


DEFAULT_LIMITS = ShapeLimits()


class NotANumber:
    """A number the sender wrote that has no finite value (NaN, Infinity, 1e400, 10**5000)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NotANumber({self.text[:20]!r})"


class TooDeep(ValueError):
    """The text nests deeper than the parser follows (reported as one problem at the root)."""


def _parse_float(text: str) -> float | NotANumber:
    value = float(text)
    return value if math.isfinite(value) else NotANumber(text)


def _parse_int(text: str) -> int | NotANumber:
    # Python refuses to read ints over 4300 digits; anything past 2**53 is refused later anyway.
    return int(text) if len(text) <= 40 else NotANumber(text)


def loads(text: str | bytes) -> Any:
    """Parse JSON; ValueError if it is not JSON, TooDeep if it nests past what can be parsed."""
    try:
        return json.loads(
            text, parse_constant=NotANumber, parse_float=_parse_float, parse_int=_parse_int
        )
    except RecursionError as error:
        raise TooDeep("nested too deeply") from error


def loads_fitting(text: str, limits: ShapeLimits = DEFAULT_LIMITS) -> tuple[Any, bool]:
    """``loads``, and True when the value surely breaks none of ``limits`` (check_shape would
    find nothing): the text is too short to hold a string, object or array over its limit, has
    too few brackets to nest too deep, and parsing met no number out of range. False: ask
    check_shape."""
    wide: list[str] = []

    def parse_int(digits: str) -> int | NotANumber:
        value = _parse_int(digits)
        if type(value) is not int or abs(value) > limits.max_abs_integer:
            wide.append(digits)
        return value

    def parse_float(digits: str) -> float | NotANumber:
        value = _parse_float(digits)
        if type(value) is not float:
            wide.append(digits)
        return value

    def parse_constant(word: str) -> NotANumber:
        wide.append(word)
        return NotANumber(word)

    try:
        data = json.loads(
            text, parse_constant=parse_constant, parse_float=parse_float, parse_int=parse_int
        )
    except RecursionError as error:
        raise TooDeep("nested too deeply") from error
    size = len(text)
    # An object of n members takes at least 5n - 1 characters, an array of n items 2n - 1.
    short = (
        size <= limits.max_string_chars
        and size <= 2 * limits.max_items
        and size <= 2 * limits.max_members
    )
    return data, short and not wide and text.count("{") + text.count("[") <= limits.max_depth


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_MESSAGES = {
    "too_deep": "入れ子が深すぎます (nested deeper than {limit} levels)",
    "string_too_long": "文字列が長すぎます (string longer than {limit} characters)",
    "key_too_long": "項目名が長すぎます (member name longer than {limit} characters)",
    "too_many_members": "項目が多すぎます (more than {limit} members)",
    "too_many_items": "要素が多すぎます (more than {limit} items)",
    "not_finite": "有限の数ではありません (NaN and Infinity are not numbers here)",
    "number_out_of_range": "数が大きすぎます (number outside ±{limit})",
}


def _problem(path: str, code: str, limit: int | None = None) -> Problem:
    return {"field": path or "body", "code": code, "message": _MESSAGES[code].format(limit=limit)}


def check_shape(value: Any, limits: ShapeLimits = DEFAULT_LIMITS, root: str = "") -> list[Problem]:
    """Every way ``value`` (as returned by ``loads``) exceeds ``limits``; [] when it fits.

    The walk is iterative and stops descending at ``max_depth``, so it is cheap for any input.
    A value that fits (nearly every one) is recognised by a quicker walk that builds no paths.
    """
    if _fits(value, 1, limits):
        return []
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, root, 1)]
    while stack and len(problems) < MAX_PROBLEMS:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list) and depth > limits.max_depth:
            problems.append(_problem(path, "too_deep", limits.max_depth))
        elif isinstance(node, dict):
            if len(node) > limits.max_members:
                problems.append(_problem(path, "too_many_members", limits.max_members))
                continue
            children = []
            for key, item in node.items():
                if len(key) > limits.max_string_chars:
                    problems.append(_problem(path, "key_too_long", limits.max_string_chars))
                    continue
                children.append((item, _join(path, key), depth + 1))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            if len(node) > limits.max_items:
                problems.append(_problem(path, "too_many_items", limits.max_items))
                continue
            stack.extend(
                reversed([(item, _join(path, i), depth + 1) for i, item in enumerate(node)])
            )
        elif isinstance(node, str):
            if len(node) > limits.max_string_chars:
                problems.append(_problem(path, "string_too_long", limits.max_string_chars))
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > limits.max_abs_integer:
                problems.append(_problem(path, "number_out_of_range", limits.max_abs_integer))
        elif isinstance(node, float):
            if not math.isfinite(node):
                problems.append(_problem(path, "not_finite"))
        elif isinstance(node, NotANumber):
            code = "number_out_of_range" if node.text.lstrip("-")[:1].isdigit() else "not_finite"
            problems.append(_problem(path, code, limits.max_abs_integer))
    return problems


def _fits(node: Any, depth: int, limits: ShapeLimits) -> bool:
    """True when ``node`` breaks no limit (False may also mean: look closer)."""
    kind = type(node)
    if kind is str:
        return len(node) <= limits.max_string_chars
    if kind is dict:
        if depth > limits.max_depth or len(node) > limits.max_members:
            return False
        for key, item in node.items():
            if len(key) > limits.max_string_chars:
                return False
            if type(item) is str:
                if len(item) > limits.max_string_chars:
                    return False
            elif not _fits(item, depth + 1, limits):
                return False
        return True
    if kind is list:
        if depth > limits.max_depth or len(node) > limits.max_items:
            return False
        return all(_fits(item, depth + 1, limits) for item in node)
    if kind is bool or node is None:
        return True
    if kind is int:
        return bool(abs(node) <= limits.max_abs_integer)
    if kind is float:
        return math.isfinite(node)
    return False


def too_deep_problem(limits: ShapeLimits = DEFAULT_LIMITS, root: str = "") -> Problem:
    return _problem(root, "too_deep", limits.max_depth)
