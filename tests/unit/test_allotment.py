"""The allotment's options and arithmetic: memory sizes Lambda takes, the CPU share as a CFS quota.

Pure: no file, no process. The kernel side is tests/unit/test_cgroups.py (fake trees) and
tests/system/test_cgroups.py (the real kernel).
"""

from __future__ import annotations

import argparse

import pytest

from localstage.allotment import (
    INIT_VCPUS,
    MIN_QUOTA_US,
    PERIOD_US,
    VCPU_MEMORY_MB,
    Allotment,
    AllotmentError,
    CpuQuota,
    add_arguments,
    memory_size,
    quota_for,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stage")
    add_arguments(parser)
    return parser


# --- memory sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "size"), [("128", 128), (256, 256), ("1769", 1769), ("10240", 10240)])
def test_a_memory_size_in_lambdas_range_is_taken(given: str | int, size: int) -> None:
    assert memory_size(given) == size


@pytest.mark.parametrize("given", ["127", "10241", "0", "-256", "256.5", "big", ""])
def test_a_memory_size_lambda_refuses_is_refused_saying_the_range(given: str) -> None:
    with pytest.raises(AllotmentError, match=r"whole number of MB from 128 to 10240, as Lambda takes it; not "):
        memory_size(given)


def test_the_memory_size_in_force_is_the_options_else_the_templates() -> None:
    assert Allotment().memory_for(256) == 256
    assert Allotment(memory_mb=1024).memory_for(256) == 1024


def test_a_template_memory_size_lambda_would_refuse_is_refused_too() -> None:
    with pytest.raises(AllotmentError):
        Allotment().memory_for(64)


# --- the CPU share as a quota -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory_mb", "quota_us"),
    [
        (128, 1447),  # 0.072 of a vCPU
        (256, 2894),
        (1024, 11577),
        (VCPU_MEMORY_MB, PERIOD_US),  # one vCPU: the whole period
        (2 * VCPU_MEMORY_MB, 2 * PERIOD_US),
        (10240, 115772),
    ],
)
def test_an_invoke_gets_its_memory_size_over_1769_of_a_vcpu_per_period(memory_mb: int, quota_us: int) -> None:
    # Given the default allotment (one host core per vCPU)
    quota = Allotment().invoke_quota(memory_mb)
    # Then the quota is that share of the period
    assert quota == CpuQuota(quota_us, PERIOD_US)


def test_host_cores_per_vcpu_scale_the_share() -> None:
    assert Allotment(host_cores_per_vcpu=2.0).invoke_quota(256) == CpuQuota(5789, PERIOD_US)


def test_a_share_too_small_for_the_period_gets_a_longer_period_not_a_larger_share() -> None:
    # Given 128 MB at half a host core per vCPU: under the kernel's smallest quota per period
    vcpus = Allotment(host_cores_per_vcpu=0.5).invoke_vcpus(128)
    assert vcpus * PERIOD_US < MIN_QUOTA_US
    # When it becomes a quota
    quota = quota_for(vcpus)
    # Then the quota is the kernel's smallest, over a period that keeps the share
    assert quota.quota_us == MIN_QUOTA_US
    assert quota.period_us > PERIOD_US
    assert quota.vcpus == pytest.approx(vcpus, rel=1e-3)


def test_a_share_below_what_the_kernel_can_give_is_refused() -> None:
    with pytest.raises(AllotmentError, match="below the kernel's smallest CPU quota"):
        Allotment(host_cores_per_vcpu=1e-4)


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan"), float("inf")])
def test_host_cores_per_vcpu_must_be_a_positive_number(factor: float) -> None:
    with pytest.raises(AllotmentError, match="host cores per vCPU must be a positive number"):
        Allotment(host_cores_per_vcpu=factor)


@pytest.mark.parametrize("memory_mb", [128, 256, 10240])
def test_an_init_runs_on_two_unthrottled_vcpus_at_any_memory_size(memory_mb: int) -> None:
    assert Allotment().init_quota(memory_mb) == CpuQuota(INIT_VCPUS * PERIOD_US, PERIOD_US)


def test_a_throttled_init_gets_the_invokes_share() -> None:
    allotment = Allotment(throttle_init=True)
    assert allotment.init_quota(256) == allotment.invoke_quota(256)


def test_an_unknown_cpu_model_is_refused() -> None:
    with pytest.raises(AllotmentError, match="a CPU model is one of"):
        Allotment(cpu_model="fast")  # type: ignore[arg-type]


# --- the options --------------------------------------------------------------------------------


def test_without_options_the_allotment_is_the_default() -> None:
    assert Allotment.from_arguments(_parser().parse_args([])) == Allotment()


def test_every_option_reaches_the_allotment() -> None:
    args = _parser().parse_args(
        ["--memory-size", "512", "--cpu-model", "host", "--host-cores-per-vcpu", "1.5", "--throttle-init"]
    )
    assert Allotment.from_arguments(args) == Allotment(512, "host", 1.5, throttle_init=True)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--memory-size", "64"], "argument --memory-size: a memory size is a whole number of MB from 128 to 10240"),
        (["--memory-size", "1e3"], "argument --memory-size: a memory size is a whole number of MB"),
        (["--cpu-model", "fast"], "argument --cpu-model: invalid choice: 'fast'"),
        (["--host-cores-per-vcpu", "0"], "argument --host-cores-per-vcpu: host cores per vCPU must be a positive"),
        (["--host-cores-per-vcpu", "many"], "argument --host-cores-per-vcpu: could not convert string to float"),
    ],
)
def test_an_option_out_of_its_range_stops_the_command_saying_why(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _parser().parse_args(argv)
    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize("command", ["stage", "main job"])
def test_the_stage_and_the_main_job_take_the_allotment_options(command: str) -> None:
    # Given the stage's own parser (python -m localstage) and the main job's (tox -e load --)
    from loadtests import run
    from localstage import __main__ as stage

    parser = stage.parser() if command == "stage" else run.parser()
    # When the allotment options are given
    args = parser.parse_args(["--memory-size", "1769", "--cpu-model", "lambda", "--throttle-init"])
    # Then they become the typed allotment the stage is handed
    assert Allotment.from_arguments(args) == Allotment(1769, "lambda", throttle_init=True)
