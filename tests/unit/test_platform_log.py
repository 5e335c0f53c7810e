"""Lambda's platform records: written as Lambda writes them, read back in either format, billed as Lambda bills."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import platform_log
from harness.billing import Bill, read_bills
from harness.platform_log import JSON, PROVISIONED, TEXT, InitReport, Report

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
    ],
)
def test_a_report_written_in_either_format_reads_back_the_same(log_format: str, report: Report) -> None:
    lines = platform_log.report(log_format, report).splitlines()

    assert [platform_log.parse(line) for line in lines if platform_log.parse(line)] == [
        Report(
            report.request_id,
            round(report.duration_ms, 2 if log_format == TEXT else 3),
            report.billed_ms,
            report.memory_mb,
            report.max_memory_mb,
            report.init_ms,
            report.status,
            report.error_type,
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
