"""What an execution environment is allotted by its memory size, as Lambda allots it: settings and arithmetic.

Memory is a hard limit at the memory size. CPU follows it: during INVOKE an environment gets
``memory / VCPU_MEMORY_MB`` of a vCPU, as AWS documents ("At 1,769 MB, a function has the
equivalent of one vCPU", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
times a stated number of host cores per vCPU. During INIT it runs unthrottled, up to
``INIT_VCPUS`` vCPUs at any memory size, as measured publicly (Luc van Donkersgoed, "Lambda Cold
Starts and Bootstrap Code", https://bitesizedserverless.com/bite/lambda-cold-start-bootstrap/:
the init code runs faster than the handler below the size where the handler gets two
unthrottled vCPUs), unless asked to throttle the init too.

A share of a vCPU becomes a CFS quota per period. The period is the one Lambda was observed to
throttle on (https://github.com/pwrdrvr/lambda-dispatch/issues/246), widened where the quota
would fall below the smallest the kernel takes. The kernel side is ``localstage.cgroups``;
this module is pure (no file, no process), so its arithmetic and its options are tested alone.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Literal, get_args

CpuModel = Literal["lambda", "host"]
"""``lambda``: CPU in proportion to memory (a CFS quota); ``host``: whatever the host gives."""

MIN_MEMORY_MB = 128
"""Lambda's smallest memory size."""
MAX_MEMORY_MB = 10_240
"""Lambda's largest memory size."""
VCPU_MEMORY_MB = 1769
"""The memory size at which a function has the equivalent of one vCPU (AWS's documentation)."""
INIT_VCPUS = 2
"""vCPUs an INIT runs on, unthrottled, at any memory size (the public measurement above)."""
PERIOD_US = 20_000
"""The CFS period Lambda was observed to throttle on (lambda-dispatch issue 246)."""
MIN_QUOTA_US = 1_000
"""The smallest CFS quota the kernel accepts (cpu.cfs_quota_us, cpu.max)."""
MAX_PERIOD_US = 1_000_000
"""The longest CFS period the kernel accepts."""
MIB = 1024 * 1024
"""Lambda's MB is a mebibyte."""


class AllotmentError(ValueError):
    """An allotment option out of its range (a memory size Lambda refuses, a share the kernel cannot give)."""


@dataclass(frozen=True)
class CpuQuota:
    """A CFS bandwidth limit: ``quota_us`` of CPU time per ``period_us``, over all the group's cores."""

    quota_us: int
    period_us: int

    @property
    def vcpus(self) -> float:
        """The share as a number of host cores (one host core per vCPU unless the factor says otherwise)."""
        return self.quota_us / self.period_us


def quota_for(vcpus: float) -> CpuQuota:
    """The CFS quota giving ``vcpus`` host cores: ``PERIOD_US``, or a longer period where the quota would be too small.

    Raises:
        AllotmentError: a share below the kernel's smallest quota over its longest period.
    """
    if vcpus * MAX_PERIOD_US < MIN_QUOTA_US:
        raise AllotmentError(f"{vcpus:.6f} of a core is below the kernel's smallest CPU quota")
    period = PERIOD_US if vcpus * PERIOD_US >= MIN_QUOTA_US else math.ceil(MIN_QUOTA_US / vcpus)
    return CpuQuota(max(MIN_QUOTA_US, round(vcpus * period)), period)


def memory_size(value: str | int) -> int:
    """A memory size in MB, as Lambda takes it: a whole number from ``MIN_MEMORY_MB`` to ``MAX_MEMORY_MB``.

    Raises:
        AllotmentError: anything else, saying the range.
    """
    try:
        megabytes = int(value)
    except ValueError:
        megabytes = None
    if megabytes is None or not MIN_MEMORY_MB <= megabytes <= MAX_MEMORY_MB:
        raise AllotmentError(
            f"a memory size is a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}, as Lambda takes it; "
            f"not {value!r}"
        )
    return megabytes


@dataclass(frozen=True)
class Allotment:
    """The run's allotment options: ``--memory-size``, ``--cpu-model``, ``--host-cores-per-vcpu``, ``--throttle-init``.

    Attributes:
        memory_mb: the memory size for the run, over the template's ``MemorySize``; None keeps the template's.
        cpu_model: ``lambda`` or ``host``; None: ``lambda`` where the host allows it, else ``host``.
        host_cores_per_vcpu: host cores that stand for one Lambda vCPU (a slower host wants more).
        throttle_init: give INIT the invoke share too, instead of ``INIT_VCPUS`` unthrottled.
    """

    memory_mb: int | None = None
    cpu_model: CpuModel | None = None
    host_cores_per_vcpu: float = 1.0
    throttle_init: bool = False

    def __post_init__(self) -> None:
        if self.memory_mb is not None:
            memory_size(self.memory_mb)
        if self.cpu_model is not None and self.cpu_model not in get_args(CpuModel):
            raise AllotmentError(f"a CPU model is one of {get_args(CpuModel)}, not {self.cpu_model!r}")
        if not (math.isfinite(self.host_cores_per_vcpu) and self.host_cores_per_vcpu > 0):
            raise AllotmentError(f"host cores per vCPU must be a positive number, not {self.host_cores_per_vcpu!r}")
        # The smallest memory size must still get a quota the kernel takes.
        quota_for(self.invoke_vcpus(MIN_MEMORY_MB))

    def memory_for(self, template_mb: int) -> int:
        """The memory size in force: the option's, else the template's ``template_mb``.

        Raises:
            AllotmentError: a template memory size Lambda would refuse.
        """
        return self.memory_mb if self.memory_mb is not None else memory_size(template_mb)

    def invoke_vcpus(self, memory_mb: int) -> float:
        """Host cores an INVOKE gets at ``memory_mb``: its share of a vCPU times host cores per vCPU."""
        return memory_mb / VCPU_MEMORY_MB * self.host_cores_per_vcpu

    def invoke_quota(self, memory_mb: int) -> CpuQuota:
        """The CFS quota of an INVOKE at ``memory_mb``."""
        return quota_for(self.invoke_vcpus(memory_mb))

    def init_quota(self, memory_mb: int) -> CpuQuota:
        """The CFS quota of an INIT at ``memory_mb``: ``INIT_VCPUS`` vCPUs, or the invoke's when throttled."""
        if self.throttle_init:
            return self.invoke_quota(memory_mb)
        return quota_for(INIT_VCPUS * self.host_cores_per_vcpu)

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> Allotment:
        """The options ``add_arguments`` put on ``args``."""
        return cls(
            memory_mb=args.memory_size,
            cpu_model=args.cpu_model,
            host_cores_per_vcpu=args.host_cores_per_vcpu,
            throttle_init=args.throttle_init,
        )


def _memory_size_option(text: str) -> int:
    """``--memory-size``: a memory size Lambda takes, else argparse's error saying the range."""
    try:
        return memory_size(text)
    except AllotmentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _host_cores_option(text: str) -> float:
    """``--host-cores-per-vcpu``: a factor that gives the smallest memory size a quota, else argparse's error."""
    try:
        factor = float(text)
        Allotment(host_cores_per_vcpu=factor)
    except ValueError as exc:  # AllotmentError is one
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return factor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Put the allotment options on ``parser`` (``python -m localstage``, ``tox -e load --``)."""
    group = parser.add_argument_group("memory and CPU as Lambda allots them (Linux control groups)")
    group.add_argument(
        "--memory-size",
        type=_memory_size_option,
        default=None,
        metavar="MB",
        help=f"the function's memory size for this run ({MIN_MEMORY_MB}-{MAX_MEMORY_MB}; "
        "default: the template's MemorySize)",
    )
    group.add_argument(
        "--cpu-model",
        choices=get_args(CpuModel),
        default=None,
        help="lambda: CPU in proportion to the memory size; host: whatever the host gives "
        "(default: lambda where the host allows it)",
    )
    group.add_argument(
        "--host-cores-per-vcpu",
        type=_host_cores_option,
        default=1.0,
        metavar="N",
        help="host cores that stand for one Lambda vCPU (default 1.0)",
    )
    group.add_argument(
        "--throttle-init",
        action="store_true",
        help=f"throttle INIT to the invoke share too (default: up to {INIT_VCPUS} unthrottled vCPUs)",
    )
