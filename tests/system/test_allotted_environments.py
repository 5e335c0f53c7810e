"""Execution environments held to their allotment on the real kernel, as Lambda holds them.

The pool starts each environment (the runtime client in a fresh interpreter) in control groups
of its own: one that grows past its memory size is killed and its invocation ends
``Runtime.OutOfMemory``, answered as a failed invocation, and the next request gets a fresh
environment; under the Lambda CPU model an environment runs its INIT at the init's quota and
its invocations at its share of a vCPU. Timing-free: the quota is read as the environment's own
group holds it. Needs Linux, root and writable memory and cpu controllers; without them the
tests skip saying why, and fail in CI, which has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.platform_log import ERROR, JSON, read_reports
from localstage.allotment import Allotment
from localstage.cgroups import ControlGroups, Hierarchies, detect
from localstage.workers import FunctionConfig, WorkerPool
from tests.support.ci import cannot_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hierarchies() -> Hierarchies:
    found = detect()
    if found.memory is None or found.cpu is None:
        cannot_run(f"no control groups here: {found.memory_off or found.cpu_off}", "the allotted environment tests")
    return found


@contextmanager
def _environments(
    tmp_path: Path, hierarchies: Hierarchies, memory_mb: int, handler: str, allotment: Allotment | None = None
) -> Iterator[WorkerPool]:
    """A pool of one environment of ``handler`` at ``memory_mb`` in the stage's groups; closed with them after."""
    groups = ControlGroups.open(allotment or Allotment(), memory_mb, hierarchies)
    function = FunctionConfig(
        code_dir=ROOT, env={}, timeout_s=10.0, handler=handler, log_format=JSON, memory_mb=groups.memory_mb
    )
    workers = WorkerPool(function, tmp_path, concurrency=1, groups=groups)
    try:
        yield workers
    finally:
        workers.close()
        made = groups.dirs
        groups.close()
        assert [d for d in made if d.exists()] == []


@pytest.fixture
def small(tmp_path: Path, hierarchies: Hierarchies) -> Iterator[WorkerPool]:
    """A pool whose environments have Lambda's smallest memory size, 128 MB."""
    with _environments(tmp_path, hierarchies, 128, "tests.system.handlers.allocate") as workers:
        yield workers


def _quotas_seen(tmp_path: Path, hierarchies: Hierarchies, allotment: Allotment) -> dict[str, str]:
    """What an environment at 256 MB read of its CPU group: at import (its INIT), in its invocation, and the group."""
    with _environments(tmp_path, hierarchies, 256, "tests.system.quota_handler.handler", allotment) as workers:
        answer = workers.invoke({})
    assert answer.outcome == "ok"
    assert answer.payload is not None
    seen: dict[str, str] = json.loads(answer.payload["body"])
    return seen


def test_an_environment_past_its_memory_size_ends_out_of_memory_and_the_next_request_gets_a_fresh_one(
    small: WorkerPool, tmp_path: Path
) -> None:
    # Given a warm environment at 128 MB that held 16 MiB
    first = small.invoke({"mib": 16})
    assert first.outcome == "ok"

    # When an invocation allocates 200 MiB
    died = small.invoke({"mib": 200})
    # ... and the next request comes
    after = small.invoke({"mib": 16})

    # Then the kernel ended the environment, and Lambda's error names its memory
    assert died.outcome == "error"
    assert died.payload is not None
    assert died.payload["errorType"] == "Runtime.OutOfMemory"
    assert died.payload["errorMessage"].endswith("Runtime exited with error: signal: killed")
    # ... its REPORT line says so, at the memory size, having used all of it
    _, report = read_reports(tmp_path / "worker-001.log")
    assert (report.status, report.error_type, report.memory_mb) == (ERROR, "Runtime.OutOfMemory", 128)
    assert 100 <= report.max_memory_mb <= 128
    # ... and a fresh environment, cold, served the next request
    assert after.outcome == "ok"
    assert after.init_ms is not None
    assert after.worker != died.worker
    assert small.started == 2


def test_a_crash_within_the_memory_size_is_an_exit_error_not_out_of_memory(
    tmp_path: Path, hierarchies: Hierarchies
) -> None:
    with _environments(tmp_path, hierarchies, 256, "tests.system.handlers.exit_now") as workers:
        crashed = workers.invoke({})  # it exits with status 3

    assert crashed.outcome == "error"
    assert crashed.payload is not None
    assert crashed.payload["errorType"] == "Runtime.ExitError"
    assert crashed.payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
    [report] = read_reports(tmp_path / "worker-001.log")
    assert (report.status, report.error_type) == (ERROR, "Runtime.ExitError")


def test_max_memory_used_holds_what_the_environment_held_and_never_falls(
    tmp_path: Path, hierarchies: Hierarchies
) -> None:
    with _environments(tmp_path, hierarchies, 256, "tests.system.handlers.allocate") as workers:
        answers = [workers.invoke({"mib": mib}) for mib in (8, 96, 8)]

    assert [a.outcome for a in answers] == ["ok", "ok", "ok"]
    small, large, after = read_reports(tmp_path / "worker-001.log")
    # the 96 MiB held, and an interpreter; and a peak never falls
    assert large.max_memory_mb >= 96
    assert small.max_memory_mb < large.max_memory_mb <= 96 + 64
    assert after.max_memory_mb == large.max_memory_mb


def test_under_the_lambda_cpu_model_init_runs_at_the_init_quota_and_invocations_at_the_memory_share(
    tmp_path: Path, hierarchies: Hierarchies
) -> None:
    allotment = Allotment(cpu_model="lambda")
    seen = _quotas_seen(tmp_path, hierarchies, allotment)

    init, invoke = allotment.init_quota(256), allotment.invoke_quota(256)
    assert seen["init"] == f"{init.quota_us} {init.period_us}"  # 2 vCPUs: 40000 per 20000
    assert seen["invoke"] == f"{invoke.quota_us} {invoke.period_us}"  # 256/1769 of one: 2894 per 20000
    assert "/localstage-" in seen["group"]


def test_under_the_host_cpu_model_an_environment_has_no_cpu_group_of_the_stage(
    tmp_path: Path, hierarchies: Hierarchies
) -> None:
    seen = _quotas_seen(tmp_path, hierarchies, Allotment(cpu_model="host"))

    assert "/localstage-" not in seen["group"]
    assert seen["init"] == seen["invoke"]
