"""Lambda's platform records in a function's log: INIT_START, START, REPORT, INIT_REPORT, and SnapStart's RESTORE_*.

Lambda writes them into each execution environment's log stream, beside the function's own
lines, in the format of the function's ``LoggingConfig``: plain text lines (``REPORT RequestId:
…``, the default), or, with ``LogFormat: JSON`` (the template's), one JSON object a line,
``{"time", "type", "record"}``, whose types and record fields are those of Lambda's Telemetry
API schema (``platform.initStart``, ``platform.start``, ``platform.report``,
``platform.initReport``, ``platform.restoreStart``, ``platform.restoreReport``;
https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html). CloudWatch Logs
shows no END record in the JSON format, and this module writes none there.

SnapStart (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html): the init runs
once, when a version is published, and is reported by its own INIT_REPORT (``initializationType``
``snap-start``); an environment resumed from the snapshot gets ``RESTORE_START`` and
``RESTORE_REPORT Restore Duration: X ms`` (``platform.restoreStart``, ``platform.restoreReport``
with ``metrics.durationMs``), and its first invocation's REPORT carries ``Restore Duration: X ms``
and ``Billed Restore Duration: Y ms`` in place of ``Init Duration`` (JSON: ``restoreDurationMs``,
``billedRestoreDurationMs`` among the metrics, as Lambda's ``ReportMetrics`` has them).

One home for the format: the local stage writes the records (``localstage/workers.py``); the
run report, the tests and any other reader parse them here (:func:`parse`, :func:`read_reports`),
in either format.

Billing (since 2025-08-01 Lambda bills the INIT phase of on-demand functions of managed runtimes
packaged as ZIP): a cold start's ``Billed Duration`` is its duration and its init together,
rounded up to the millisecond (:func:`billed_ms`); a provisioned environment's init is billed as
provisioned concurrency, not on any request. A restored environment's first invocation is billed
its ``Billed Restore Duration`` with its duration (in Lambda's own REPORTs the billed duration is
the duration rounded up plus the billed restore duration); the snapshot's init is on no request's
REPORT.

Standard library only.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import billing

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

TEXT = "Text"
"""``LoggingConfig.LogFormat`` for plain text (Lambda's default)."""
JSON = "JSON"
"""``LoggingConfig.LogFormat`` for JSON records (the template's)."""
LOG_FORMATS = (TEXT, JSON)

ON_DEMAND = "on-demand"
"""An environment started for a request (``AWS_LAMBDA_INITIALIZATION_TYPE``, ``initializationType``)."""
PROVISIONED = "provisioned-concurrency"
"""An environment initialised ahead of any request."""
SNAP_START = "snap-start"
"""An environment initialised for a SnapStart snapshot, when a version is published (and every one restored from it)."""

SUCCESS = "success"
FAILURE = "failure"
"""The function answered with an error (the runtime posted it to ``…/error``)."""
ERROR = "error"
"""The environment failed (its runtime exited, ran out of memory, or its init failed)."""
TIMEOUT = "timeout"

VERSION = "$LATEST"
"""The version the local stage runs: the unpublished function."""

_INIT_START = "platform.initStart"
_START = "platform.start"
_REPORT = "platform.report"
_INIT_REPORT = "platform.initReport"
_RESTORE_START = "platform.restoreStart"
_RESTORE_REPORT = "platform.restoreReport"


def billed_ms(duration_ms: float, init_ms: float | None = None, billed_restore_ms: int | None = None) -> int:
    """Lambda's ``Billed Duration``: the duration (and a billed init or restore) rounded up to the millisecond."""
    return max(1, math.ceil(round(duration_ms + (init_ms or 0.0) + (billed_restore_ms or 0), 6)))


def billed_restore_ms(restore_ms: float) -> int:
    """Lambda's ``Billed Restore Duration`` of a restore that took ``restore_ms``: rounded up to the millisecond."""
    return max(1, math.ceil(round(restore_ms, 6)))


@dataclass(frozen=True)
class Report:
    """One invocation's REPORT: its durations, the memory, and how it ended."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None
    """The init's duration, on the first invocation of an on-demand environment only."""
    status: str = SUCCESS
    error_type: str | None = None
    restore_ms: float | None = None
    """``Restore Duration``: on the first invocation of an environment restored from a SnapStart snapshot only."""
    billed_restore_ms: int | None = None
    """``Billed Restore Duration``: the part of ``restore_ms`` Lambda bills (in ``billed_ms`` too)."""

    @property
    def gb_seconds(self) -> float:
        """What the invocation is billed for: billed seconds times the memory in gigabytes (of 1024 megabytes)."""
        return billing.gb_seconds(self.billed_ms, self.memory_mb)


@dataclass(frozen=True)
class InitReport:
    """An init reported on its own: one that failed, or one done ahead of requests (provisioned)."""

    duration_ms: float
    initialization_type: str = ON_DEMAND
    status: str = SUCCESS
    error_type: str | None = None
    phase: str = "init"


@dataclass(frozen=True)
class RestoreReport:
    """A restore from a SnapStart snapshot, reported on its own (``RESTORE_REPORT``): how long, and how it ended."""

    duration_ms: float
    status: str = SUCCESS
    error_type: str | None = None


def _now_iso(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _json(kind: str, record: dict[str, Any], now: float | None) -> str:
    return json.dumps({"time": _now_iso(now), "type": kind, "record": record}, separators=(",", ":")) + "\n"


def _status_text(status: str, error_type: str | None) -> str:
    if status == SUCCESS:
        return ""
    return f"\tStatus: {status}" + (f"\tError Type: {error_type}" if error_type else "")


def init_start(
    log_format: str,
    *,
    function_name: str,
    runtime: str,
    memory_mb: int,
    initialization_type: str = ON_DEMAND,
    now: float | None = None,
) -> str:
    """An environment's INIT_START line (``runtime``: the template's ``Runtime``, e.g. ``python3.14``)."""
    version = runtime.replace("python", "python:", 1)
    if log_format == TEXT:
        return f"INIT_START Runtime Version: {version}\n"
    record = {
        "initializationType": initialization_type,
        "phase": "init",
        "runtimeVersion": version,
        "functionName": function_name,
        "functionVersion": VERSION,
        "instanceMaxMemory": memory_mb * 1024 * 1024,
    }
    return _json(_INIT_START, record, now)


def start(log_format: str, request_id: str, function_arn: str, now: float | None = None) -> str:
    """An invocation's START line, written as the event is handed to the runtime."""
    if log_format == TEXT:
        return f"START RequestId: {request_id} Version: {VERSION}\n"
    return _json(_START, {"requestId": request_id, "functionArn": function_arn, "version": VERSION}, now)


def report(log_format: str, entry: Report, now: float | None = None) -> str:
    """An invocation's REPORT (and, in the text format, the END line before it)."""
    if log_format == TEXT:
        init = f"\tInit Duration: {entry.init_ms:.2f} ms" if entry.init_ms is not None else ""
        if entry.restore_ms is not None:
            init += (
                f"\tRestore Duration: {entry.restore_ms:.2f} ms\tBilled Restore Duration: {entry.billed_restore_ms} ms"
            )
        return (
            f"END RequestId: {entry.request_id}\n"
            f"REPORT RequestId: {entry.request_id}\tDuration: {entry.duration_ms:.2f} ms\t"
            f"Billed Duration: {entry.billed_ms} ms\tMemory Size: {entry.memory_mb} MB\t"
            f"Max Memory Used: {entry.max_memory_mb} MB{init}{_status_text(entry.status, entry.error_type)}\n"
        )
    metrics: dict[str, Any] = {
        "durationMs": round(entry.duration_ms, 3),
        "billedDurationMs": entry.billed_ms,
        "memorySizeMB": entry.memory_mb,
        "maxMemoryUsedMB": entry.max_memory_mb,
    }
    if entry.init_ms is not None:
        metrics["initDurationMs"] = round(entry.init_ms, 3)
    if entry.restore_ms is not None:
        metrics["restoreDurationMs"] = round(entry.restore_ms, 3)
        metrics["billedRestoreDurationMs"] = entry.billed_restore_ms
    record: dict[str, Any] = {"requestId": entry.request_id, "metrics": metrics, "status": entry.status}
    if entry.error_type:
        record["errorType"] = entry.error_type
    return _json(_REPORT, record, now)


def init_report(log_format: str, entry: InitReport, now: float | None = None) -> str:
    """An INIT_REPORT line: an init that failed, or one that ran ahead of any request."""
    if log_format == TEXT:
        return (
            f"INIT_REPORT Init Duration: {entry.duration_ms:.2f} ms\tPhase: {entry.phase}"
            f"\tStatus: {entry.status}" + (f"\tError Type: {entry.error_type}" if entry.error_type else "") + "\n"
        )
    record: dict[str, Any] = {
        "initializationType": entry.initialization_type,
        "phase": entry.phase,
        "status": entry.status,
        "metrics": {"durationMs": round(entry.duration_ms, 3)},
    }
    if entry.error_type:
        record["errorType"] = entry.error_type
    return _json(_INIT_REPORT, record, now)


def restore_start(
    log_format: str, *, function_name: str, runtime: str, memory_mb: int, now: float | None = None
) -> str:
    """A restored environment's RESTORE_START line: it is resumed from the snapshot."""
    version = runtime.replace("python", "python:", 1)
    if log_format == TEXT:
        return f"RESTORE_START Runtime Version: {version}\n"
    record = {
        "runtimeVersion": version,
        "functionName": function_name,
        "functionVersion": VERSION,
        "instanceMaxMemory": memory_mb * 1024 * 1024,
    }
    return _json(_RESTORE_START, record, now)


def restore_report(log_format: str, entry: RestoreReport, now: float | None = None) -> str:
    """A RESTORE_REPORT line: the restore's duration (the after-restore hooks included) and, when it failed, why."""
    if log_format == TEXT:
        status = _status_text(entry.status, entry.error_type)
        return f"RESTORE_REPORT Restore Duration: {entry.duration_ms:.2f} ms{status}\n"
    record: dict[str, Any] = {"status": entry.status, "metrics": {"durationMs": round(entry.duration_ms, 3)}}
    if entry.error_type:
        record["errorType"] = entry.error_type
    return _json(_RESTORE_REPORT, record, now)


_TEXT_REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>[\d.]+) ms\tBilled Duration: (?P<billed>\d+) ms\t"
    r"Memory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>[\d.]+) ms)?"
    r"(?:\tRestore Duration: (?P<restore>[\d.]+) ms\tBilled Restore Duration: (?P<billed_restore>\d+) ms)?"
    r"(?:\tStatus: (?P<status>\w+))?(?:\tError Type: (?P<error>\S+))?"
)
_TEXT_INIT_REPORT = re.compile(
    r"INIT_REPORT Init Duration: (?P<duration>[\d.]+) ms\tPhase: (?P<phase>\S+)\tStatus: (?P<status>\w+)"
    r"(?:\tError Type: (?P<error>\S+))?"
)
_TEXT_RESTORE_REPORT = re.compile(
    r"RESTORE_REPORT Restore Duration: (?P<duration>[\d.]+) ms(?:\tStatus: (?P<status>\w+))?"
    r"(?:\tError Type: (?P<error>\S+))?"
)

Record = Report | InitReport | RestoreReport
"""What :func:`parse` finds in a line: a REPORT, an INIT_REPORT or a RESTORE_REPORT."""


def _from_json(line: str) -> Record | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
        return None
    record = entry["record"]
    if entry.get("type") == _REPORT:
        metrics = record["metrics"]
        return Report(
            request_id=record["requestId"],
            duration_ms=float(metrics["durationMs"]),
            billed_ms=int(metrics["billedDurationMs"]),
            memory_mb=int(metrics["memorySizeMB"]),
            max_memory_mb=int(metrics["maxMemoryUsedMB"]),
            init_ms=float(metrics["initDurationMs"]) if "initDurationMs" in metrics else None,
            status=record.get("status", SUCCESS),
            error_type=record.get("errorType"),
            restore_ms=float(metrics["restoreDurationMs"]) if "restoreDurationMs" in metrics else None,
            billed_restore_ms=int(metrics["billedRestoreDurationMs"]) if "billedRestoreDurationMs" in metrics else None,
        )
    if entry.get("type") == _INIT_REPORT:
        return InitReport(
            duration_ms=float(record["metrics"]["durationMs"]),
            initialization_type=record.get("initializationType", ON_DEMAND),
            status=record.get("status", SUCCESS),
            error_type=record.get("errorType"),
            phase=record.get("phase", "init"),
        )
    if entry.get("type") == _RESTORE_REPORT:
        return RestoreReport(
            duration_ms=float(record["metrics"]["durationMs"]),
            status=record.get("status", SUCCESS),
            error_type=record.get("errorType"),
        )
    return None


def parse(line: str) -> Record | None:
    """The REPORT, INIT_REPORT or RESTORE_REPORT a log line holds, in either format; ``None`` for any other line."""
    if line.startswith('{"time"'):
        return _from_json(line) if _REPORT in line or _INIT_REPORT in line or _RESTORE_REPORT in line else None
    return _from_text(line)


def _from_text(line: str) -> Record | None:
    if line.startswith("RESTORE_REPORT "):
        return _restore_from_text(line)
    if line.startswith("REPORT "):
        match = _TEXT_REPORT.match(line.rstrip("\n"))
        if match is None:
            return None
        return Report(
            request_id=match["id"],
            duration_ms=float(match["duration"]),
            billed_ms=int(match["billed"]),
            memory_mb=int(match["memory"]),
            max_memory_mb=int(match["used"]),
            init_ms=float(match["init"]) if match["init"] else None,
            status=match["status"] or SUCCESS,
            error_type=match["error"],
            restore_ms=float(match["restore"]) if match["restore"] else None,
            billed_restore_ms=int(match["billed_restore"]) if match["billed_restore"] else None,
        )
    if line.startswith("INIT_REPORT "):
        match = _TEXT_INIT_REPORT.match(line.rstrip("\n"))
        if match is None:
            return None
        return InitReport(
            duration_ms=float(match["duration"]),
            status=match["status"],
            error_type=match["error"],
            phase=match["phase"],
        )
    return None


def _restore_from_text(line: str) -> RestoreReport | None:
    match = _TEXT_RESTORE_REPORT.match(line.rstrip("\n"))
    if match is None:
        return None
    return RestoreReport(duration_ms=float(match["duration"]), status=match["status"] or SUCCESS,
                         error_type=match["error"])  # fmt: skip


def is_platform_line(line: str) -> bool:
    """Whether a log line is one of Lambda's platform records (in either format), not the function's own."""
    if line.startswith('{"time"'):
        return '"type":"platform.' in line
    return line.startswith(
        ("INIT_START ", "START RequestId: ", "END RequestId: ", "REPORT ", "INIT_REPORT ", "RESTORE_START ",
         "RESTORE_REPORT ")
    )  # fmt: skip


def reports(lines: Iterable[str]) -> Iterator[Report]:
    """Every REPORT among ``lines``, in order."""
    for line in lines:
        found = parse(line)
        if isinstance(found, Report):
            yield found


def init_reports(lines: Iterable[str]) -> Iterator[InitReport]:
    """Every INIT_REPORT among ``lines``, in order."""
    for line in lines:
        found = parse(line)
        if isinstance(found, InitReport):
            yield found


def restore_reports(lines: Iterable[str]) -> Iterator[RestoreReport]:
    """Every RESTORE_REPORT among ``lines``, in order."""
    for line in lines:
        found = parse(line)
        if isinstance(found, RestoreReport):
            yield found


def read_reports(path: Path) -> list[Report]:
    """Every REPORT in the log ``path``, in order."""
    with path.open() as lines:
        return list(reports(lines))
