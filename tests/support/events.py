"""API Gateway events for tests: one recorded JSON file, changed per test through keywords."""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"
_UNSET: Any = object()


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def load_event(name: str = "create_order.json") -> dict[str, Any]:
    """A fresh copy of a recorded event."""
    return copy.deepcopy(_load(name))


def order_body(**overrides: Any) -> dict[str, Any]:
    """The body of the recorded event as a dict, with top-level fields replaced."""
    body = json.loads(load_event()["body"])
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not _UNSET}


def api_event(
    body: Any = _UNSET,
    *,
    raw_body: str | bytes | None = _UNSET,
    headers: dict[str, str | None] | None = None,
    claims: dict[str, Any] | None = _UNSET,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """The recorded ``POST /orders`` event with its body, headers or claims replaced.

    ``body`` is serialised with ``json.dumps``; ``raw_body`` is used as it is. A header whose
    value is ``None`` is removed. ``claims=None`` removes the authorizer entirely.
    """
    event = load_event()
    if body is not _UNSET:
        event["body"] = json.dumps(body)
    if raw_body is not _UNSET:
        event["body"] = raw_body
    if base64_encoded:
        data = event["body"].encode() if isinstance(event["body"], str) else event["body"]
        event["body"] = base64.b64encode(data).decode()
        event["isBase64Encoded"] = True
    for name, value in (headers or {}).items():
        for key in ("headers", "multiValueHeaders"):
            event[key] = {k: v for k, v in event[key].items() if k.lower() != name.lower()}
        if value is not None:
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
    if claims is None:
        event["requestContext"].pop("authorizer")
    elif claims is not _UNSET:
        event["requestContext"]["authorizer"]["claims"] = claims
    return event


UNSET = _UNSET
