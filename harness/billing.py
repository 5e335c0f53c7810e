"""What AWS bills a request in: Lambda's billing ledger, and the units of the other services.

The ledger: one JSON line per request id, what Lambda bills it for. Written by the local stage
as each invocation ends (``localstage/workers.py``, beside the REPORT line it is read from);
read by a cost report (:func:`read_bills`). The figures are Lambda's own
(:mod:`harness.platform_log`): the billed milliseconds, a cold start's billed init included,
and the GB-seconds they make at the function's memory size.

SnapStart (a function resumed from a snapshot, here Python's): a restored environment's first
invocation is billed its ``Billed Restore Duration`` as duration, within its ``Billed Duration``.
Lambda's SnapStart monitoring page (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html):
the billed restore duration is the time Lambda takes to load the runtime and run the
after-restore hooks, the snapshot's own restoring is not charged, and duration charges apply to
the runtime's loading and to code in runtime hooks; Lambda's own REPORTs add it in (their billed
duration is the duration rounded up plus the billed restore duration). The snapshot's own
init, when the version is published, is billed to no request: it is on no REPORT and in no bill
here. For Python and .NET, SnapStart also charges for caching the snapshot (per GB-second while the
version is active, three hours at least) and for each restore (per GB of the function's memory;
https://aws.amazon.com/lambda/pricing/, "SnapStart Pricing"); neither is a duration charge, so
neither is in ``billed_ms``: a bill says it was ``restored``, so that a cost report can count the
restores.

The units, as each service counts them (priced by ``runreport.pricing``):

- Lambda: billed milliseconds (rounded up to the ms; an on-demand INIT included) times memory,
  in GB-seconds (:func:`gb_seconds`);
- DynamoDB on demand: an item's size by DynamoDB's rules (:func:`item_bytes`); one write unit
  per 1 KB written, a refused conditional write billed as written (:func:`write_units`); half a
  read unit per 4 KB read eventually consistent, one strongly consistent, each item of a
  BatchGetItem rounded on its own (:func:`read_units`);
- SQS and HTTP APIs: one request per 64 KB (SQS) or 512 KB (HTTP API) chunk of a payload, at
  least one (:func:`chunks`); an SQS message's payload is its body and its attributes (:func:`message_bytes`);
- CloudWatch Logs: binary GB (two to the thirtieth power of bytes) ingested (:func:`log_gb`).

Standard library only.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from harness.platform_log import Report

KB = 1024
WRITE_UNIT_BYTES = 1 * KB
"""DynamoDB bills a write unit per this much of an item written."""
READ_UNIT_BYTES = 4 * KB
"""DynamoDB bills a read unit (strongly consistent) per this much of an item read."""
SQS_CHUNK_BYTES = 64 * KB
"""SQS bills each this much of a request's payload as one request."""
HTTP_API_CHUNK_BYTES = 512 * KB
"""An HTTP API meters requests in increments of this much."""
GB = 1024**3
"""The GB CloudWatch Logs ingestion is priced in."""
MB_PER_GB = 1024
"""Lambda's memory sizes are MB of which 1024 make the GB of a GB-second."""


@dataclass(frozen=True)
class Bill:
    """One request's Lambda duration charge."""

    request_id: str
    billed_ms: int
    """The REPORT's ``Billed Duration``: a cold start's init included where Lambda bills it."""
    memory_mb: int
    gb_seconds: float
    init_billed: bool = False
    """Whether ``billed_ms`` includes an init (an on-demand cold start)."""
    restored: bool = False
    """Whether it was its environment's first after a SnapStart restore (its billed restore in ``billed_ms``)."""

    @classmethod
    def of(cls, report: Report) -> Bill:
        """The bill of the invocation ``report`` reports."""
        return cls(
            request_id=report.request_id,
            billed_ms=report.billed_ms,
            memory_mb=report.memory_mb,
            gb_seconds=round(report.gb_seconds, 9),
            init_billed=report.init_ms is not None,
            restored=report.restore_ms is not None,
        )

    def line(self) -> str:
        """The bill as the ledger holds it: one JSON line."""
        # Its fields are scalars: vars() is asdict() without the deep copy, written for every REPORT.
        return json.dumps(vars(self), separators=(",", ":")) + "\n"


def read_bills(path: Path) -> list[Bill]:
    """Every bill in the ledger ``path``, in the order written (none when there is no ledger)."""
    if not path.exists():
        return []
    return [Bill(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def gb_seconds(billed_ms: int, memory_mb: int) -> float:
    """Lambda's GB-seconds for ``billed_ms`` billed milliseconds at ``memory_mb``."""
    return billed_ms / 1000 * memory_mb / MB_PER_GB


def write_units(item_bytes: int) -> int:
    """DynamoDB write units of one write of an item of ``item_bytes`` (1 KB each, at least one).

    A PutItem is billed for the larger of the item written and the item it replaces; a
    conditional write that was refused is billed as if it had written.
    """
    return max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))


def read_units(item_sizes: list[int], *, consistent: bool = False) -> float:
    """DynamoDB read units of reading items of ``item_sizes`` bytes, each rounded up to 4 KB on its own.

    As a BatchGetItem is billed: one unit per 4 KB strongly consistent, half eventually; a read
    that found nothing still costs the smallest read (as an empty item).
    """
    blocks = sum(math.ceil(size / READ_UNIT_BYTES) or 1 for size in item_sizes) or 1
    return blocks if consistent else blocks / 2


def chunks(payload_bytes: int, chunk_bytes: int = SQS_CHUNK_BYTES) -> int:
    """Requests billed for one request of ``payload_bytes``: one per ``chunk_bytes`` begun, at least one."""
    return max(1, math.ceil(payload_bytes / chunk_bytes))


def message_bytes(entry: dict[str, Any]) -> int:
    """A message's payload as SQS bills it: its body and its attributes' names, types and values.

    ``entry``: a SendMessage request, or one entry of a SendMessageBatch (``MessageBody``,
    ``MessageAttributes``), as the SDK is called with it.
    """
    size = len(str(entry.get("MessageBody", "")).encode())
    for name, attribute in (entry.get("MessageAttributes") or {}).items():
        value = attribute.get("StringValue")
        raw = len(str(value).encode()) if value is not None else value_bytes({"B": attribute.get("BinaryValue", "")})
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode()) + raw
    return size


def log_gb(log_bytes: int) -> float:
    """CloudWatch Logs GB for ``log_bytes`` ingested."""
    return log_bytes / GB


def _number_bytes(text: str) -> int:
    """A DynamoDB number's size: a byte per two significant digits begun, plus one."""
    digits = text.lstrip("+-").lower().split("e", 1)[0].replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def _binary_bytes(content: str | bytes) -> int:
    return len(base64.b64decode(content)) if isinstance(content, str) else len(content)


def _list_bytes(content: list[dict[str, Any]]) -> int:
    return 3 + sum(value_bytes(element) + 1 for element in content)


def _map_bytes(content: dict[str, dict[str, Any]]) -> int:
    return 3 + sum(len(name.encode()) + value_bytes(element) + 1 for name, element in content.items())


_VALUE_BYTES: dict[str, Callable[[Any], int]] = {
    "S": lambda content: len(str(content).encode()),
    "N": lambda content: _number_bytes(str(content)),
    "B": _binary_bytes,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda content: sum(len(member.encode()) for member in content),
    "NS": lambda content: sum(_number_bytes(member) for member in content),
    "BS": lambda content: sum(_binary_bytes(member) for member in content),
    "L": _list_bytes,
    "M": _map_bytes,
}


def value_bytes(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value in its JSON form (``{"S": "..."}``, ``{"M": {...}}``).

    Strings and binaries by their bytes (a binary as sent: base64, so its decoded length), a
    number by its significant digits, a Boolean or null one byte, a list or map three bytes
    and one byte per element over its elements (a map's keys counted too), a set its members.

    Raises:
        ValueError: ``value`` is not an attribute value.
    """
    (kind, content), *_ = value.items()
    try:
        size = _VALUE_BYTES[kind]
    except KeyError:
        raise ValueError(f"not a DynamoDB attribute value: {kind!r}") from None
    return size(content)


def item_bytes(item: dict[str, dict[str, Any]]) -> int:
    """An item's size as DynamoDB bills it: each attribute's name and value."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())
