"""The host meter: CPU of the machine and of groups of processes, read through harness.readings, over a window."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness.readings import cpu_s
from loadtests.host import OTHER, CpuSample, HostLoad, cpu_sample, host_load

# Spins until its stdin closes, at most 10 s whatever happens: bounded even if the test dies.
SPIN = """
import sys, threading, time
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("spinning", flush=True)
deadline = time.monotonic() + 10
while not stop.is_set() and time.monotonic() < deadline:
    pass
"""
SLEEP = "import sys; sys.stdin.read()"


def _child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.fixture
def spinner() -> Iterator[subprocess.Popen[str]]:
    """A process that keeps one core busy until its stdin closes (10 s at most)."""
    process = _child(SPIN)
    assert process.stdout is not None
    assert process.stdout.readline() == "spinning\n"
    yield process
    process.communicate(timeout=15)  # closes its stdin: it stops, and is reaped


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[str]]:
    """A process that uses no CPU until its stdin closes."""
    process = _child(SLEEP)
    yield process
    process.communicate(timeout=15)


def _spin_for(spinner: subprocess.Popen[str], cpu_seconds: float) -> None:
    """Wait until the spinner has used ``cpu_seconds`` of CPU (bounded: 8 s of waiting at most)."""
    started = cpu_s(spinner.pid) or 0.0
    for _ in range(160):
        if (cpu_s(spinner.pid) or 0.0) - started >= cpu_seconds:
            return
        time.sleep(0.05)


def test_a_busy_process_outside_every_group_counts_as_other_not_as_the_group(
    spinner: subprocess.Popen[str], sleeper: subprocess.Popen[str]
) -> None:
    # Given a "stage" of one idle process, and a busy process outside it
    start = cpu_sample({"stage": [sleeper.pid]})

    # When the busy process burns CPU inside the window
    _spin_for(spinner, 0.5)
    end = cpu_sample({"stage": [sleeper.pid]})
    load = host_load(start, end)

    # Then its CPU is the machine's and nobody's in the groups: "other" holds it, the stage does not
    assert load.busy_s > 0
    assert load.other_s > 0.25
    assert load.groups_s["stage"] < 0.1
    assert load.share(OTHER) > load.share("stage")


def test_a_busy_process_inside_a_group_counts_for_that_group_and_not_as_other(
    spinner: subprocess.Popen[str], sleeper: subprocess.Popen[str]
) -> None:
    # Given a "stage" holding the busy process, a second group holding an idle one
    groups = {"stage": [spinner.pid], "Locust": [sleeper.pid]}
    start = cpu_sample(groups)

    _spin_for(spinner, 0.5)
    end = cpu_sample(groups)
    spun = end.groups["stage"][spinner.pid] - start.groups["stage"][spinner.pid]
    load = host_load(start, end)

    # Then the stage's figure is the busy process's own, and outweighs the idle group's
    assert spun > 0.25
    assert load.groups_s["stage"] == pytest.approx(spun)
    assert load.groups_s["Locust"] < load.groups_s["stage"]
    assert load.share("stage") > 0


def test_a_process_gone_is_left_out_and_one_named_twice_counts_once(sleeper: subprocess.Popen[str]) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)  # fmt: skip
    sample = cpu_sample({"stage": [sleeper.pid, int(gone.stdout)], "Locust": [sleeper.pid]})

    assert list(sample.groups["stage"]) == [sleeper.pid]
    assert sample.groups["Locust"] == {}


def test_a_process_started_in_the_window_counts_from_zero_and_one_there_from_its_start() -> None:
    # Given pid 10 at 3 s of CPU when the window opens, pid 11 started during it
    start = CpuSample(100.0, 1000.0, {"stage": {10: 3.0}})
    end = CpuSample(160.0, 1090.0, {"stage": {10: 33.0, 11: 12.0}, "Locust": {20: 15.0}})

    load = host_load(start, end, cores=2)

    # Then the stage used 30 + 12 s, Locust 15 s, and the rest of the machine's 90 busy seconds is other
    assert load == HostLoad(60.0, 2, 90.0, {"stage": 42.0, "Locust": 15.0})
    assert load.busy_cores == 1.5
    assert load.other_s == 33.0
    assert load.share(OTHER) == pytest.approx(33 / 90)
    assert load.saturated is False
    assert load.line() == "1.50 of 2 cores busy over 60 s: stage 47%, Locust 17%, other 37%"


def test_groups_that_account_for_more_than_the_machine_leave_other_at_zero_not_negative() -> None:
    # The per-process and per-core clocks round differently: the groups may exceed the machine by a tick
    load = HostLoad(10.0, 2, 19.9, {"stage": 20.0})

    assert load.other_s == 0.0
    assert load.share("stage") == 1.0
    assert load.saturated is True
    assert load.as_json()["share"] == {"stage": 1.0, "other": 0.0}


def test_groups_that_account_for_more_than_the_machine_share_it_in_proportion_and_add_up_to_one() -> None:
    # Given two groups whose CPU seconds add up to 4 % more than the machine's busy time (a busy VM)
    load = HostLoad(20.0, 2, 30.0, {"stage": 27.0, "Locust": 4.2})

    # Then each is a share of what the groups account for, and the shares add up to one
    assert load.share("stage") == 27.0 / 31.2
    assert load.share("Locust") == 4.2 / 31.2
    assert load.share("other") == 0.0
    assert sum(load.as_json()["share"].values()) == pytest.approx(1, abs=0.002)
