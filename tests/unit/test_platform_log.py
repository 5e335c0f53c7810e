"""Lambda's platform records: written as Lambda writes them, read back in either format, billed as Lambda bills."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import platform_log
from harness.billing import Bill, read_bills
from harness.platform_log import JSON, PROVISIONED, SNAP_START, TEXT, InitReport, Report, RestoreReport

# A cold start's REPORT as CloudWatch Logs showed it for a function with LogFormat JSON (2026-10-08).
CLOUDWATCH_REPORT = (
    '{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":'
    '"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36","metrics":{"durationMs":1233.96,"billedDurationMs":1698,'
    '"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}'
)


def test_a_report_of_lambda_s_own_json_format_is_read_whole() -> None:
    report = platform_log.parse(CLOUDWATCH_REPORT)

    assert report == Report(
        request_id="79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36",
        duration_ms=1233.96,
        billed_ms=1698,
        memory_mb=256,
        max_memory_mb=123,
        init_ms=463.512,
    )


def test_a_cold_start_is_billed_its_init_and_its_duration_rounded_up_to_the_millisecond() -> None:
    # The figures of Lambda's own REPORT above: 1233.96 + 463.512 ms billed as 1698
    assert platform_log.billed_ms(1233.96, 463.512) == 1698
    # A warm invocation: its duration alone, rounded up; never less than a millisecond
    assert platform_log.billed_ms(1072.145) == 1073
    assert platform_log.billed_ms(12.0) == 12
    assert platform_log.billed_ms(0.2) == 1


@pytest.mark.parametrize("log_format", [TEXT, JSON])
@pytest.mark.parametrize(
    "report",
    [
        Report("r-1", 30.123, 331, 256, 90, init_ms=300.5),
        Report("r-2", 10.0, 10, 512, 91),
        Report("r-3", 30000.0, 30000, 256, 91, status="timeout"),
        Report("r-4", 4.5, 5, 256, 91, status="error", error_type="Runtime.ExitError"),
        Report("r-5", 12.5, 17, 256, 91, restore_ms=5.6254, billed_restore_ms=4),
        Report(
            "r-6", 4.5, 9, 256, 91, status="error", error_type="Runtime.ExitError", restore_ms=8.0, billed_restore_ms=4
        ),
    ],
)
def test_a_report_written_in_either_format_reads_back_the_same(log_format: str, report: Report) -> None:
    lines = platform_log.report(log_format, report).splitlines()
    places = 2 if log_format == TEXT else 3

    assert [platform_log.parse(line) for line in lines if platform_log.parse(line)] == [
        Report(
            report.request_id,
            round(report.duration_ms, places),
            report.billed_ms,
            report.memory_mb,
            report.max_memory_mb,
            report.init_ms,
            report.status,
            report.error_type,
            round(report.restore_ms, places) if report.restore_ms is not None else None,
            report.billed_restore_ms,
        )
    ]
    assert all(platform_log.is_platform_line(line) for line in lines)


def test_the_json_report_has_lambda_s_fields_and_no_init_on_a_warm_start() -> None:
    line = platform_log.report(JSON, Report("r-2", 10.0, 10, 256, 91), now=0.0)

    assert json.loads(line) == {
        "time": "1970-01-01T00:00:00.000Z",
        "type": "platform.report",
        "record": {
            "requestId": "r-2",
            "metrics": {"durationMs": 10.0, "billedDurationMs": 10, "memorySizeMB": 256, "maxMemoryUsedMB": 91},
            "status": "success",
        },
    }


def test_the_text_report_is_lambda_s_line_with_end_before_it() -> None:
    text = platform_log.report(TEXT, Report("r-1", 15.74, 147, 128, 56, init_ms=130.49))

    assert text == (
        "END RequestId: r-1\n"
        "REPORT RequestId: r-1\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tInit Duration: 130.49 ms\n"
    )


@pytest.mark.parametrize("log_format", [TEXT, JSON])
def test_an_init_report_reads_back_with_its_status_and_error_type(log_format: str) -> None:
    failed = InitReport(812.25, status="error", error_type="Runtime.ImportModuleError")

    [found] = platform_log.init_reports([platform_log.init_report(log_format, failed)])

    assert (found.duration_ms, found.status, found.error_type) == (812.25, "error", "Runtime.ImportModuleError")


def test_a_provisioned_init_report_names_its_initialization_type() -> None:
    line = platform_log.init_report(JSON, InitReport(400.0, PROVISIONED))

    assert json.loads(line)["record"] == {
        "initializationType": "provisioned-concurrency",
        "phase": "init",
        "status": "success",
        "metrics": {"durationMs": 400.0},
    }


@pytest.mark.parametrize(
    "line",
    [
        '{"time":"2026-10-08T07:30:28.235Z","type":"platform.start","record":{"requestId":"r","version":"$LATEST"}}',
        '{"timestamp": "2026-10-08 07:30:29,443+0000", "level": "INFO", "message": "REPORT RequestId: x"}',
        "REPORT RequestId: r1\tDuration: lots",
        '{"time": "not json',
        "START RequestId: r1 Version: $LATEST",
    ],
)
def test_a_line_that_holds_no_report_reads_as_none(line: str) -> None:
    assert platform_log.parse(line) is None


def test_the_function_s_own_json_lines_are_not_platform_lines() -> None:
    own = '{"level":"INFO","message":"order stored","timestamp":"2026-10-08 07:30:29,443+0000"}'

    assert not platform_log.is_platform_line(own)
    assert platform_log.is_platform_line(platform_log.start(JSON, "r-1", "arn:aws:lambda:us-east-1:1:function:f"))
    assert platform_log.is_platform_line(platform_log.start(TEXT, "r-1", "arn"))


def test_a_bill_is_its_report_s_billed_milliseconds_and_gb_seconds(tmp_path: Path) -> None:
    # Given a cold start at 256 MB and a warm one at 1024 MB, written to the ledger
    ledger = tmp_path / "billing.jsonl"
    cold = Bill.of(Report("r-1", 1233.96, 1698, 256, 123, init_ms=463.512))
    warm = Bill.of(Report("r-2", 999.1, 1000, 1024, 123))
    ledger.write_text(cold.line() + warm.line())

    # When it is read back
    bills = read_bills(ledger)

    # Then each bill is what Lambda charges: billed seconds times gigabytes, the cold start's init included
    assert bills == [cold, warm]
    assert (cold.billed_ms, cold.gb_seconds, cold.init_billed) == (1698, 0.4245, True)
    assert (warm.billed_ms, warm.gb_seconds, warm.init_billed) == (1000, 1.0, False)
    assert read_bills(tmp_path / "none.jsonl") == []


# A restored environment's first REPORT as Lambda wrote it (Text), and the same fields in Lambda's JSON format.
LAMBDA_RESTORED_REPORT = (
    "REPORT RequestId: b771fecc-1b53-4faf-922d-1d74357b1676\tDuration: 306.34 ms\tBilled Duration: 610 ms\t"
    "Memory Size: 3009 MB\tMax Memory Used: 155 MB\tRestore Duration: 511.25 ms\tBilled Restore Duration: 303 ms\t"
)
LAMBDA_RESTORED_JSON = (
    '{"time":"2024-02-09T08:42:44.080Z","type":"platform.report","record":{"requestId":"d661f7cf","status":"success",'
    '"metrics":{"durationMs": 147.156,"billedDurationMs": 201, "memorySizeMB": 512,"maxMemoryUsedMB": 91,'
    '"restoreDurationMs": 500.795,"billedRestoreDurationMs": 53 }}}'
)


def test_a_restored_environment_s_report_of_lambda_s_own_is_read_in_either_format() -> None:
    text = platform_log.parse(LAMBDA_RESTORED_REPORT)
    json_report = platform_log.parse(LAMBDA_RESTORED_JSON)

    assert text == Report("b771fecc-1b53-4faf-922d-1d74357b1676", 306.34, 610, 3009, 155,
                          restore_ms=511.25, billed_restore_ms=303)  # fmt: skip
    assert json_report == Report("d661f7cf", 147.156, 201, 512, 91, restore_ms=500.795, billed_restore_ms=53)
    # No init on either: a SnapStart environment's init ran when its version was published (the equality says so)


def test_a_restored_invocation_is_billed_its_billed_restore_with_its_duration() -> None:
    # Lambda's own figures above: 306.34 ms and a billed restore of 303 ms billed 610; 147.156 and 53, 201
    assert platform_log.billed_ms(306.34, billed_restore_ms=303) == 610
    assert platform_log.billed_ms(147.156, None, 53) == 201
    # The billed restore is the runtime's part of the restore, rounded up to the millisecond
    assert platform_log.billed_restore_ms(2.01) == 3
    assert platform_log.billed_restore_ms(0.3) == 1


def test_the_text_report_of_a_restored_environment_has_its_restore_in_place_of_an_init() -> None:
    text = platform_log.report(TEXT, Report("r-1", 15.74, 20, 128, 56, restore_ms=511.254, billed_restore_ms=4))

    assert text.splitlines()[-1] == (
        "REPORT RequestId: r-1\tDuration: 15.74 ms\tBilled Duration: 20 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tRestore Duration: 511.25 ms\tBilled Restore Duration: 4 ms"
    )
    assert "Init Duration" not in text


def test_the_json_report_of_a_restored_environment_has_lambda_s_restore_metrics() -> None:
    line = platform_log.report(JSON, Report("r-1", 10.0, 14, 256, 91, restore_ms=5.1234, billed_restore_ms=4), now=0.0)

    assert json.loads(line)["record"]["metrics"] == {
        "durationMs": 10.0, "billedDurationMs": 14, "memorySizeMB": 256, "maxMemoryUsedMB": 91,
        "restoreDurationMs": 5.123, "billedRestoreDurationMs": 4,
    }  # fmt: skip


def test_restore_start_and_restore_report_are_lambda_s_lines_in_text() -> None:
    start = platform_log.restore_start(TEXT, function_name="f", runtime="python3.14", memory_mb=256)
    done = platform_log.restore_report(TEXT, RestoreReport(511.254))
    failed = platform_log.restore_report(TEXT, RestoreReport(1236.04, "error", "Runtime.ExitError"))
    late = platform_log.restore_report(TEXT, RestoreReport(10000.5, "timeout"))

    assert start == "RESTORE_START Runtime Version: python:3.14\n"
    assert done == "RESTORE_REPORT Restore Duration: 511.25 ms\n"
    assert failed == "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: error\tError Type: Runtime.ExitError\n"
    assert late == "RESTORE_REPORT Restore Duration: 10000.50 ms\tStatus: timeout\n"
    assert all(platform_log.is_platform_line(line) for line in (start, done, failed, late))


def test_restore_start_and_restore_report_are_the_telemetry_api_s_records_in_json() -> None:
    start = platform_log.restore_start(JSON, function_name="f", runtime="python3.14", memory_mb=256, now=0.0)
    done = platform_log.restore_report(JSON, RestoreReport(15.19), now=0.0)
    failed = platform_log.restore_report(JSON, RestoreReport(20.0, "error", "Runtime.AfterRestoreError"), now=0.0)

    assert json.loads(start) == {
        "time": "1970-01-01T00:00:00.000Z",
        "type": "platform.restoreStart",
        "record": {"runtimeVersion": "python:3.14", "functionName": "f", "functionVersion": "$LATEST",
                   "instanceMaxMemory": 256 * 1024 * 1024},
    }  # fmt: skip
    assert json.loads(done)["type"] == "platform.restoreReport"
    assert json.loads(done)["record"] == {"status": "success", "metrics": {"durationMs": 15.19}}
    assert json.loads(failed)["record"] == {
        "status": "error", "metrics": {"durationMs": 20.0}, "errorType": "Runtime.AfterRestoreError",
    }  # fmt: skip
    assert all(platform_log.is_platform_line(line) for line in (start, done, failed))


@pytest.mark.parametrize("log_format", [TEXT, JSON])
def test_a_restore_report_reads_back_in_either_format_and_is_no_invocation_s_report(log_format: str) -> None:
    entries = [
        RestoreReport(5.25),
        RestoreReport(1236.04, "error", "Runtime.ExitError"),
        RestoreReport(10000.5, "timeout"),
    ]
    lines = [platform_log.restore_report(log_format, entry) for entry in entries]
    lines.insert(1, platform_log.restore_start(log_format, function_name="f", runtime="python3.14", memory_mb=256))

    assert list(platform_log.restore_reports(lines)) == entries
    assert list(platform_log.reports(lines)) == []
    assert list(platform_log.init_reports(lines)) == []


def test_a_snapshot_s_init_is_reported_on_its_own_as_a_snap_start_init() -> None:
    start = platform_log.init_start(JSON, function_name="f", runtime="python3.14", memory_mb=256,
                                    initialization_type=SNAP_START)  # fmt: skip
    report = platform_log.init_report(JSON, InitReport(80.5, SNAP_START))

    assert json.loads(start)["record"]["initializationType"] == "snap-start"
    assert json.loads(report)["record"] == {
        "initializationType": "snap-start", "phase": "init", "status": "success", "metrics": {"durationMs": 80.5},
    }  # fmt: skip


def test_a_restored_invocation_s_bill_says_so_and_holds_its_billed_restore(tmp_path: Path) -> None:
    ledger = tmp_path / "billing.jsonl"
    restored = Bill.of(Report("r-1", 306.34, 610, 1024, 155, restore_ms=511.25, billed_restore_ms=303))
    warm = Bill.of(Report("r-2", 10.0, 10, 1024, 155))
    ledger.write_text(restored.line() + warm.line())

    bills = read_bills(ledger)

    assert bills == [restored, warm]
    assert (restored.billed_ms, restored.gb_seconds, restored.init_billed, restored.restored) == (
        610,
        0.61,
        False,
        True,
    )
    assert warm.restored is False
