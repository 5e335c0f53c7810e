"""The soak's memory watch: RSS read (harness.readings), sampled into memory.jsonl (loadtests.memory),
judged flat or not (loadtests.memory_judge).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.readings import rss_kib
from loadtests import soak
from loadtests.memory import RssSample, RssSampler
from loadtests.memory_judge import memory_report

GROW = """
import sys
held = []
for line in sys.stdin:
    held.append(bytearray(int(line) * 1024 * 1024))  # touched: resident
    print("ok", flush=True)
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    """A process that allocates N MiB (and keeps it) for each N written to it."""
    process = subprocess.Popen([sys.executable, "-c", GROW], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield process
    process.kill()
    process.communicate()  # reaps it and closes its pipes


def _grow(process: subprocess.Popen[str], mib: int) -> None:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(f"{mib}\n")
    process.stdin.flush()
    assert process.stdout.readline() == "ok\n"


def test_rss_is_read_in_kib_and_is_none_for_a_process_that_is_gone(child: subprocess.Popen[str]) -> None:
    before = rss_kib(child.pid)
    _grow(child, 64)
    after = rss_kib(child.pid)
    child.kill()
    child.communicate()

    assert before is not None
    assert after is not None
    assert after - before >= 60 * 1024
    assert rss_kib(child.pid) is None
    assert rss_kib(os.getpid()) is not None


def test_the_sampler_records_each_process_and_its_growth_is_judged(
    tmp_path: Path, child: subprocess.Popen[str]
) -> None:
    path = tmp_path / "memory.jsonl"
    sampler = RssSampler(lambda: [child.pid], path, interval_s=3600)
    sampler.start()  # one sample at once; the next only at stop
    _grow(child, 32)
    sampler.stop()
    samples = [RssSample.read(line) for line in path.read_text().splitlines()]

    assert len(samples) == 2
    assert [list(sample.rss_kib) for sample in samples] == [[child.pid], [child.pid]]
    lenient = memory_report(path, settle_s=0, limit_mib=64)
    strict = memory_report(path, settle_s=0, limit_mib=16)
    [env] = lenient.environments
    assert 30 <= env.growth_mib < 64
    assert lenient.flat
    assert not strict.flat
    assert "FAIL" in strict.table()


def _write(path: Path, samples: list[tuple[float, dict[int, int]]]) -> None:
    path.write_text("".join(RssSample(t, rss).line() + "\n" for t, rss in samples))


def test_growth_counts_from_when_each_environment_has_settled(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    _write(
        path,
        [
            (0, {}),
            (15, {11: 20_000}),  # 11 in its init
            (60, {11: 46_000}),
            (75, {11: 48_000, 12: 21_000}),  # 11 settled; 12 starts late, in its init
            (90, {11: 49_000, 12: 47_000}),
            (135, {11: 48_500, 12: 47_500}),  # 12 settled
            (600, {11: 49_024, 12: 54_500, 13: 30_000}),  # 13: one sample, never settled
            (615, {11: 49_024}),  # 12 gone
        ],
    )

    report = memory_report(path, settle_s=60, limit_mib=5)

    by_pid = {env.pid: env for env in report.environments}
    assert set(by_pid) == {11, 12}
    assert (by_pid[11].start_t, by_pid[11].end_t) == (75, 615)
    assert by_pid[11].start_mib == pytest.approx(48_000 / 1024)
    assert by_pid[11].peak_mib == pytest.approx(49_024 / 1024)
    assert by_pid[11].growth_mib == pytest.approx(1_024 / 1024)
    assert (by_pid[12].start_t, by_pid[12].end_t) == (135, 600)
    assert by_pid[12].growth_mib == pytest.approx(7_000 / 1024)  # its init (21 000) not counted
    assert not report.flat  # 12 grew 6.8 MiB
    assert memory_report(path, settle_s=60, limit_mib=7).flat
    assert report.as_json()["environments"][1]["growth_mib"] == pytest.approx(6.836, abs=1e-3)


def test_no_environment_measured_is_not_flat(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    _write(path, [(0, {}), (70, {11: 48_000}), (130, {11: 48_000})])  # settled at 130: no end after it

    assert not memory_report(path, settle_s=60, limit_mib=5).flat


# Environment 11 from the start (settled at 60 s: 40 MiB, up to 42, back to 40.1); 12 from 60 s (10 MiB).
SETTLED = [
    (0, {11: 40_960}),
    (60, {11: 40_960, 12: 10_240}),
    (120, {11: 43_008, 12: 10_240}),
    (180, {11: 41_060, 12: 10_240}),
]


def test_the_table_shows_each_environment_from_when_it_settled_and_the_verdict(tmp_path: Path) -> None:
    # Given two environments that grew by 0.1 MiB and by nothing once settled
    path = tmp_path / "memory.jsonl"
    _write(path, SETTLED)

    # When judged against a 2 MiB limit, and against a 0.05 MiB one
    flat = memory_report(path, settle_s=60, limit_mib=2)
    grown = memory_report(path, settle_s=60, limit_mib=0.05)

    # Then the table a person reads has every figure in its column, and the verdict under them
    assert flat.table() == (
        "memory of the execution environments (RSS, MiB; from 60 s into each one's life)\n"
        "       pid   from s     to s    start      end     peak   growth\n"
        "        11       60      180     40.0     40.1     42.0    +0.10\n"
        "        12      120      180     10.0     10.0     10.0    +0.00\n"
        "  flat: every environment grew <= 2 MiB -> PASS"
    )
    assert grown.table().splitlines()[-1] == "  flat: every environment grew <= 0.05 MiB -> FAIL"


def test_memory_json_holds_the_limits_the_verdict_and_each_environment(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    _write(path, SETTLED)

    document = memory_report(path, settle_s=60, limit_mib=2).as_json()

    assert document == {
        "limit_mib": 2,
        "settle_s": 60,
        "flat": True,
        "environments": [
            {"pid": 11, "start_t": 60, "end_t": 180, "start_mib": 40, "end_mib": 41_060 / 1024, "peak_mib": 42,
             "growth_mib": 0.098},
            {"pid": 12, "start_t": 120, "end_t": 180, "start_mib": 10, "end_mib": 10, "peak_mib": 10, "growth_mib": 0},
        ],
    }  # fmt: skip


def test_the_soak_runs_the_main_job_for_ten_minutes_with_memory_watched_and_options_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(soak.run, "main", lambda argv: seen.append(argv) or 0)

    assert soak.main(["--run-time", "2m"]) == 0

    args, _ = soak.run.arguments(seen[0])
    assert args.run_time == "2m"
    assert args.rss_sample_s == 15
    assert args.slo_error_ratio == 0
    assert args.users == 100
    assert soak.run.arguments(soak.DEFAULTS)[0].run_time == "10m"
