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


def dumps(value: Any) -> str:
    """Serialise a JSON-shaped value; ``Decimal`` becomes a JSON number with its exact digits."""
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts)


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
    if isinstance(value, Decimal | float) and not math.isfinite(value):
        raise ValueError("a non-finite number has no JSON form")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


_CONSTANTS = {None: "null", True: "true", False: "false"}
