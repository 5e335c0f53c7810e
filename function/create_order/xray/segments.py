"""The pieces of a trace: subsegment ids, the trace of the invocation in progress, an SDK call's open subsegment."""

from __future__ import annotations

import os
import time
from typing import Any

IDS_PER_DRAW = 4
"""Subsegment ids drawn per ``os.urandom`` call: the handler's and its three SDK calls'."""


def new_id() -> str:
    """A random 64-bit id in 16 lowercase hex digits (drawn per use: nothing is seeded at import)."""
    return os.urandom(8).hex()


class InvocationTrace:
    """The trace of the invocation in progress: its ids, and the header its SDK calls carry."""

    __slots__ = (
        "_header_head", "_header_tail", "_ids", "calls", "cold_start", "ended", "id", "parent_id", "start", "trace_id",
    )  # fmt: skip

    def __init__(self, trace_id: str, parent_id: str, extra: str, *, cold_start: bool) -> None:
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.cold_start = cold_start
        self._ids = ""
        self.id = self.new_id()
        self.start = time.time()
        self.calls: list[dict[str, Any]] = []
        """The SDK calls' finished subsegments, sent inside the handler's."""
        self.ended = False
        self._header_head = f"Root={trace_id};Parent="
        self._header_tail = f";Sampled=1{extra}"

    @classmethod
    def from_header(cls, header: str, *, cold_start: bool) -> InvocationTrace | None:
        """The invocation's trace if ``header`` is sampled and names its root and parent, else ``None``."""
        fields: dict[str, str] = {}
        extra = ""
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key in {"Root", "Parent", "Sampled"}:
                fields[key] = value
            elif key:
                extra += f";{key}={value}"  # Lineage (Lambda's loop detection) and the like travel on
        root, parent = fields.get("Root"), fields.get("Parent")
        if fields.get("Sampled") != "1" or not root or not parent:
            return None
        return cls(root, parent, extra, cold_start=cold_start)

    def new_id(self) -> str:
        """An id for a subsegment of this invocation; drawn as :func:`new_id`, a few at a time (one syscall)."""
        if not self._ids:
            self._ids = os.urandom(8 * IDS_PER_DRAW).hex()
        drawn, self._ids = self._ids[:16], self._ids[16:]
        return drawn

    def header_for(self, subsegment_id: str) -> str:
        """The trace header of a downstream call made under ``subsegment_id``."""
        return f"{self._header_head}{subsegment_id}{self._header_tail}"


class CallSubsegment:
    """One SDK call's subsegment, open from parameter build to its answer."""

    __slots__ = ("aws", "id", "invocation", "start")

    def __init__(self, invocation: InvocationTrace, aws: dict[str, Any]) -> None:
        self.invocation = invocation
        self.id = invocation.new_id()
        self.start = time.time()
        self.aws = aws


def standalone(call: dict[str, Any], invocation: InvocationTrace) -> dict[str, Any]:
    """A call's subsegment as a document of its own: it names its trace and its parent."""
    return {"type": "subsegment", "trace_id": invocation.trace_id, "parent_id": invocation.id, **call}
