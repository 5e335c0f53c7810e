"""The end-to-end rows, each measured on a running local stage under the CPU meter.

``backend_row`` and ``open_row`` run a load child (``benchmarks.e2e_backend_load``,
``benchmarks.e2e_open_loop``) through ``Child``'s line protocol; ``closed_row`` provisions an
environment per user and runs Locust (``benchmarks/locust_e2e.py``); ``drain`` empties the
queue between rows. ``Options`` holds the rows' durations and sizes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.e2e_cpu import CpuMeter, cpu_usage
from benchmarks.e2e_nothing_lost import statuses
from harness.processes import wait_or_kill
from harness.runfolder import RunFolder

if TYPE_CHECKING:
    from harness.runfolder import BenchControl
    from localstage.local import LocalStage

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).resolve().parent / "locust_e2e.py"
LOAD_CHILDREN = {"backend": "benchmarks.e2e_backend_load", "open-loop": "benchmarks.e2e_open_loop"}
"""Each load child's module, by the kind that names its log (``logs/bench-<kind>.log``)."""


@dataclass
class Options:
    """Durations and sizes of the three rows."""

    backend_s: float = 20.0
    closed_s: float = 30.0
    open_s: float = 20.0
    open_rate: float = 200.0
    users: int = 100
    threads: int = 100
    concurrency: int = 100
    """The stage's concurrency limit (execution environments at most), as ``tox -e load``."""
    spawn_rate: float = 50.0
    settle_s: float = 5.0
    """Warm when no execution environment has started for this long."""
    warmup_max_s: float = 75.0
    open_connections: int = 50
    open_customers: int = 20
    smoke: bool = False

    @classmethod
    def tiny(cls) -> Options:
        """A couple of seconds per row: checks the section runs, measures nothing."""
        return cls(backend_s=1.0, closed_s=2.0, open_s=1.5, open_rate=20.0, users=4, threads=4, concurrency=4,
                   spawn_rate=4.0, settle_s=0.5, warmup_max_s=4.0, open_connections=4, open_customers=4,
                   smoke=True)  # fmt: skip


def _queue_depth(samples: Path, queue: str, since: float, until: float) -> int:
    """The most messages (visible + in flight) the consumer's sampler saw on ``queue`` in the window."""
    deepest = 0
    with contextlib.suppress(FileNotFoundError), samples.open() as lines:
        for line in lines:
            sample = json.loads(line)
            if sample["queue"] == queue and since <= sample["ts"] <= until:
                deepest = max(deepest, sample["visible"] + sample["not_visible"])
    return deepest


class Child:
    """A child process speaking lines: it prints ``ready``, waits for ``go`` on stdin, prints one JSON line."""

    def __init__(self, command: list[str], log: Path) -> None:
        self._log = log.open("ab")
        self._command = command
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip

    def line(self, timeout_s: float) -> str:
        """The child's next line within ``timeout_s``."""
        stdout = self.process.stdout
        if stdout is None:
            raise RuntimeError("no pipe to the child")
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        text = stdout.readline() if ready else ""
        if not text:
            raise RuntimeError(f"{self._command[2]} said nothing within {timeout_s:.0f} s (see {self._log.name})")
        return text.strip()

    def go(self) -> None:
        """Tell the child to start."""
        if self.process.stdin is None:
            raise RuntimeError("no pipe to the child")
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def close(self) -> None:
        """Wait briefly for the child, kill it if it is still there."""
        wait_or_kill(self.process, 10)
        self._log.close()


def backend_row(stage: LocalStage, meter: CpuMeter, options: Options, calls: Path, run_dir: Path) -> dict[str, Any]:
    """Row 1: the handler's two calls per order (recorded in ``calls``) made straight against moto."""
    info = stage.describe()
    command = ["backend", "--calls", str(calls),
               "--table", info["physical"]["OrdersTable"], "--queue", info["physical"]["ProcessingQueue"],
               "--threads", str(options.threads), "--seconds", str(options.backend_s)]  # fmt: skip
    return _child_row(stage, meter, command, run_dir, seconds=options.backend_s, orders_key="orders")


def _child_row(
    stage: LocalStage, meter: CpuMeter, command: list[str], run_dir: Path, *, seconds: float, orders_key: str
) -> dict[str, Any]:
    """Run one of the load children (``LOAD_CHILDREN``) under the CPU meter; its result.

    ``command`` is the child's kind and its arguments; ``orders_key`` names the result's count
    of orders that the row's CPU is divided by.
    """
    kind, *arguments = command
    child = Child([sys.executable, "-m", LOAD_CHILDREN[kind], *arguments], RunFolder(run_dir).logs.bench_log(kind))
    try:
        meter.load = [child.process.pid]
        if child.line(60) != "ready":
            raise RuntimeError(f"the {kind} load did not start")
        start = meter.snapshot()
        child.go()
        result: dict[str, Any] = json.loads(child.line(seconds + 60))
        end = meter.snapshot()
    finally:
        child.close()
    result["cpu"] = cpu_usage(start, end, result[orders_key])
    queue = _queue_name(stage.describe())
    result["queue_max"] = _queue_depth(RunFolder(run_dir).queues, queue, start.wall, end.wall)
    return result


def _queue_name(info: dict[str, Any]) -> str:
    return str(info["physical"]["ProcessingQueue"]).rsplit("/", 1)[-1]


def _warm(stage: LocalStage, control: BenchControl, options: Options, deadline: float) -> float:
    """Wait for every user to be spawned and the pool to stop growing (bounded); the warm-up's length."""
    pool = stage.pool
    if pool is None:
        raise RuntimeError("the stage is not running")
    began = time.monotonic()
    while not control.spawned.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    count, changed = pool.started, time.monotonic()
    while time.monotonic() < deadline:
        if pool.started != count:
            count, changed = pool.started, time.monotonic()
        elif time.monotonic() - changed >= options.settle_s:
            break
        time.sleep(0.1)
    return time.monotonic() - began


def closed_row(stage: LocalStage, meter: CpuMeter, options: Options, run_dir: Path) -> dict[str, Any]:
    """Row 2: one provisioned environment per user, then Locust's users in a closed loop, measured once warm."""
    info = stage.describe()
    pool = stage.pool
    if pool is None:
        raise RuntimeError("the stage is not running")
    # Provisioned concurrency, one environment per user: the inits run now, not inside the
    # measured window, where a hundred of them would take CPU from the two cores this machine
    # has (BENCHMARKS.md, T12).
    began = time.monotonic()
    provisioned = pool.provision(options.users)
    provision_s = time.monotonic() - began
    folder = RunFolder(run_dir)
    control = folder.bench_control
    control.path.mkdir()
    bound = options.warmup_max_s + options.closed_s + 30
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", info["url"],
               "--users", str(options.users), "--spawn-rate", str(options.spawn_rate), "--run-time", f"{bound:.0f}s",
               "--stage-file", str(folder.stage_file), "--control-dir", str(control.path),
               "--measure-s", str(options.closed_s), "--warmup-max-s", str(options.warmup_max_s),
               "--only-summary", "--stop-timeout", "0", "--loglevel", "WARNING"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    locust_log = folder.logs.bench_log("locust")
    with locust_log.open("ab") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            meter.load = [locust.pid]
            launched = time.monotonic()
            warmup_s = _warm(stage, control, options, launched + options.warmup_max_s - 1)
            start = meter.snapshot()
            started_envs = pool.started
            control.go.write_text("go")
            result_file = control.result
            give_up = time.monotonic() + options.closed_s + 30
            while not result_file.exists() and time.monotonic() < give_up and locust.poll() is None:
                time.sleep(0.05)
            end = meter.snapshot()
            if not result_file.exists():
                raise RuntimeError(f"Locust gave no result (see {locust_log})")
            result: dict[str, Any] = json.loads(result_file.read_text())
            locust.wait(timeout=30)
        finally:
            if locust.poll() is None:
                locust.kill()
                locust.wait(timeout=10)
    window = max(result["ended"] - result["started"], 1e-9)
    created = statuses(folder.access_log, start.wall, end.wall)[201]
    result |= {
        "seconds": round(window, 2),
        "rps": round(result["requests"] / window, 1),
        "provisioned": provisioned,
        "provision_s": round(provision_s, 1),
        "warmup_s": round(warmup_s, 1),
        "cold_starts_in_window": pool.started - started_envs,
        "environments": pool.size,
        "created": created,
        "cpu": cpu_usage(start, end, created),
        "queue_max": _queue_depth(folder.queues, _queue_name(info), start.wall, end.wall),
    }
    return result


def open_row(stage: LocalStage, meter: CpuMeter, options: Options, run_dir: Path) -> dict[str, Any]:
    """Row 3: ``options.open_rate`` requests a second on a fixed schedule, from the open-loop child."""
    command = ["open-loop", "--stage-file", str(RunFolder(run_dir).stage_file),
               "--rate", str(options.open_rate), "--seconds", str(options.open_s),
               "--connections", str(options.open_connections), "--customers", str(options.open_customers)]  # fmt: skip
    return _child_row(stage, meter, command, run_dir, seconds=options.open_s, orders_key="created")


def drain(stage: LocalStage) -> float:
    """Let the consumer empty the queue before the next row (each row starts from an empty queue)."""
    began = time.monotonic()
    if stage.consumer is not None and not stage.consumer.drain(quiet_s=1.0, timeout_s=90.0):
        raise RuntimeError("the queue's consumer did not catch up within 90 s")
    return round(time.monotonic() - began, 1)
