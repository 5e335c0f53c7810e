"""Strict JSON in, exact JSON out.

The request body is read so that the handler sees exactly what any other JSON parser of the
same bytes would see: duplicate keys, ``NaN``/``Infinity`` and numbers that overflow a float
are refused instead of being silently resolved one way or another. Money leaves as JSON
numbers written from ``Decimal`` digits, never through ``float``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any


class JSONRejectedError(ValueError):
    """The body is not one unambiguous JSON document."""


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONRejectedError(f"duplicate key {json.dumps(key)}")
            seen.add(key)
    return obj


def _reject_constant(name: str) -> Any:
    raise JSONRejectedError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRejectedError(f"number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_reject_duplicate_keys,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    strict=True,  # raw control characters inside strings are an error
)


def loads(text: str) -> Any:
    """Parse one JSON document strictly.

    Raises:
        JSONRejectedError: the text is not exactly one valid, unambiguous JSON document.
    """
    try:
        return _DECODER.decode(text)
    except JSONRejectedError:
        raise
    except RecursionError as exc:
        raise JSONRejectedError("nesting is too deep") from exc
    except json.JSONDecodeError as exc:
        raise JSONRejectedError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # e.g. an integer literal longer than int's digit limit
        raise JSONRejectedError(str(exc).split(";")[0]) from exc


_NUMBER_MARK = "\ufdd0"
"""Stands in for a Decimal while the C encoder writes the rest (a Unicode noncharacter)."""
_MARKED = '"\\ufdd0"'
"""How the C encoder writes the mark (ASCII only): the places where the Decimals' digits go."""


def dumps(value: Any) -> str:
    """Serialise a JSON-shaped value; ``Decimal`` becomes a JSON number with its exact digits.

    The standard library's C encoder writes everything but the Decimals, each of which it asks
    ``default`` for and writes as a marked string; their digits then replace the marks. Should
    a string of the value itself hold the mark (the counts then differ), the written-out encoder
    below does the whole value instead. Same output either way; the C path is the cheaper
    (BENCHMARKS.md, T9).
    """
    digits: list[str] = []

    def decimal_digits(item: object) -> str:
        if isinstance(item, Decimal):
            digits.append(_decimal(item))
            return _NUMBER_MARK
        raise TypeError(f"{type(item).__name__} has no JSON form")

    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False, default=decimal_digits)
    except ValueError as exc:
        raise ValueError("a non-finite number has no JSON form") from exc
    if not digits:
        return text
    pieces = text.split(_MARKED)
    if len(pieces) != len(digits) + 1:
        return dumps_written_out(value)
    out = [pieces[0]]
    for index, number in enumerate(digits, start=1):
        out += (number, pieces[index])
    return "".join(out)


def dumps_written_out(value: Any) -> str:
    """:func:`dumps`, one token at a time in Python (also its reference in the tests)."""
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("a non-finite number has no JSON form")
    return format(value, "f")


def _encode(value: object, out: Callable[[str], object]) -> None:
    if isinstance(value, Mapping):
        out("{")
        for index, (key, item) in enumerate(value.items()):
            out(',"' if index else '"')
            out(encode_basestring_ascii(str(key))[1:])
            out(":")
            _encode(item, out)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _encode(item, out)
        out("]")
    else:
        out(_scalar(value))


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None or isinstance(value, bool):
        return _CONSTANTS[value]
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a non-finite number has no JSON form")
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


_CONSTANTS = {None: "null", True: "true", False: "false"}
