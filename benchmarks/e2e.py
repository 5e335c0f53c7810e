"""End to end on the local stage: backend-only capacity, a closed loop, an open loop, the stage's own CPU.

    python -m benchmarks.e2e [--smoke] [--backend-s 20] [--closed-s 30] [--open-s 20] [--open-rate 200]
                             [--users 100] [--threads 100] [--out PATH]

Run by ``benchmarks.run`` (its ``e2e`` rows); prints one JSON document, also written to
``e2e.json`` in the stage's run folder. Every figure comes from one freshly started local stage
(``loadtests.stage.LocalStage``: moto per service group, Lambda-like workers, the API Gateway
front, the queue consumer), in this order:

1. **backend only**: the two calls a warm invocation of the handler makes for one order (the
   conditional ``PutItem`` on the orders table, ``SendMessage`` on the processing queue; their
   parameters recorded from the handler as ``benchmarks.probe record`` does, with a fresh order
   id per order) made straight against the stage's moto servers by ``--threads`` threads sharing
   two boto3 clients, for ``--backend-s`` → orders/s, p50/p95/p99 per order.
2. **closed loop**: one provisioned execution environment per user (their inits done first, as
   Lambda's provisioned concurrency does), then Locust headless, ``--users`` users placing
   valid orders with a valid Cognito token and no think time (``benchmarks/locust_e2e.py``);
   measured over ``--closed-s`` once every user is spawned and the worker pool has stopped
   growing → RPS, p50/p95/p99, errors.
3. **open loop**: ``--open-rate`` requests/s on a fixed schedule for ``--open-s`` (the
   ``open-loop`` child below) → achieved rate, p50/p95/p99 from each request's scheduled time,
   errors; then the same at half the closed loop's throughput (``open_half``).
4. **CPU** of every process of the stage during 1-3 (``/proc/<pid>/stat``; per thread for the
   gateway and the consumer, which share this process) → CPU seconds per 1000 orders and each
   component's busiest-core share, the stage's CPU per order (so the rate the machine's cores
   can carry at most), and which part limits the run.

The queue is drained after each row, so each starts from an empty queue. At the end the orders
table is counted against the 201s the gateway answered (its access log) plus the orders stored
by row 1: nothing may be missing.

The load of rows 1 and 3 comes from child processes of this one (``backend`` and ``open-loop``
below), and Locust runs in its own: each has its own GIL and its own CPU figure, and none shares
a GIL with the gateway and consumer threads this process hosts (as the main job's does).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import select
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.probe import recorded_calls
from loadtests.host import SATURATED, CpuSample, cpu_sample  # SATURATED: a process at it is at its GIL's limit
from loadtests.processes import wait_or_kill
from loadtests.procfs import cpu_s
from loadtests.stage.backend import SERVICE_GROUPS
from loadtests.stage.local import LocalStage, id_token, new_run_dir

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).resolve().parent / "locust_e2e.py"
ROWS = ("backend", "closed", "open", "open_half")


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


# --- CPU accounting -------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """CPU seconds of every process of the stage at one moment, and of this process's threads."""

    wall: float
    processes: CpuSample
    """Each group's processes, and the machine (``loadtests.host``)."""
    own: float
    consumer: float
    harness: float


@dataclass
class CpuMeter:
    """Samples the stage's processes: moto per group, workers, this process (gateway, consumer), the load."""

    stage: LocalStage
    load: list[int] = field(default_factory=list)
    """The load generator's process ids (set per row)."""

    def snapshot(self) -> Snapshot:
        """Every component's CPU seconds now."""
        backend, pool = self.stage.backend, self.stage.pool
        if backend is None or pool is None:
            raise RuntimeError("the stage is not running")
        groups = {f"moto {group}": [pid] for group, pid in zip(SERVICE_GROUPS, backend.pids, strict=True)}
        groups |= {"workers": pool.pids, "load generator": list(self.load)}
        processes = cpu_sample(groups)
        consumer = harness = 0.0
        for thread in threading.enumerate():
            seconds = cpu_s(thread=thread.native_id) or 0.0
            if thread.name.startswith("consumer-") or thread.name == "queue-depths":
                consumer += seconds
            elif thread is threading.main_thread():
                harness += seconds
        own = cpu_s() or 0.0
        return Snapshot(time.time(), processes, own, consumer, harness)


def cpu_usage(start: Snapshot, end: Snapshot, orders: int) -> dict[str, Any]:
    """Per component: CPU seconds, per 1000 orders, cores used, and its busiest process's share of one core.

    A worker started inside the window counts from zero (its cold start included); a process
    that ended inside it is missing (the count of those is not kept).
    """
    wall = max(end.processes.at - start.processes.at, 1e-9)
    per_order = 1000 / orders if orders else 0.0
    components: dict[str, dict[str, float]] = {}

    def add(name: str, per_process: list[float]) -> None:
        cpu = sum(per_process)
        components[name] = {
            "cpu_s": round(cpu, 2),
            "per_1000": round(cpu * per_order, 3),
            "cores": round(cpu / wall, 3),
            "busiest_core": round(max(per_process, default=0.0) / wall, 3),
            "processes": len(per_process),
        }

    for name, processes in end.processes.groups.items():
        before = start.processes.groups.get(name, {})
        add(name, [seconds - before.get(pid, 0.0) for pid, seconds in processes.items()])
    consumer = end.consumer - start.consumer
    harness = end.harness - start.harness
    add("gateway", [(end.own - start.own) - consumer - harness])
    add("consumer", [consumer])
    add("bench harness", [harness])
    stage_total = sum(c["cpu_s"] for c in components.values())
    machine = end.processes.machine_s - start.processes.machine_s
    stage_cpu = sum(c["cpu_s"] for c in components.values())
    return {
        "wall_s": round(wall, 2),
        "orders": orders,
        "components": components,
        "cpu_ms_per_order": round(stage_cpu * per_order, 2),
        "machine_busy_cores": round(machine / wall, 2),
        "cores": os.cpu_count() or 1,
        "outside_stage": {
            "cpu_s": round(machine - stage_total, 2),
            "per_1000": round((machine - stage_total) * per_order, 3),
        },
    }


def bottleneck(usage: dict[str, Any]) -> dict[str, Any]:
    """What limits a row: a process at about one core (its GIL), else the machine's cores, else neither."""
    components = usage["components"]
    busiest = max(components, key=lambda name: components[name]["busiest_core"])
    largest = max(components, key=lambda name: components[name]["cpu_s"])
    total = sum(c["cpu_s"] for c in components.values()) or 1.0
    share = components[largest]["cpu_s"] / total
    per_order = usage.get("cpu_ms_per_order") or 0.0
    carried = ""
    if per_order:
        most = usage["cores"] * 1000 / per_order
        carried = f"; {per_order:.1f} ms of CPU an order: {usage['cores']} cores carry ~{most:.0f}/s at most"
    if components[busiest]["busiest_core"] >= SATURATED:
        verdict = f"{busiest}: one process at {components[busiest]['busiest_core']:.0%} of a core"
        limit = busiest
    elif usage["machine_busy_cores"] >= SATURATED * usage["cores"]:
        verdict = (f"the machine's {usage['cores']} cores ({usage['machine_busy_cores']:.2f} busy); "
                   f"largest consumer {largest}, {share:.0%} of the stage's CPU")  # fmt: skip
        limit = "cpu"
    else:
        verdict = f"no saturated process and {usage['machine_busy_cores']:.2f} of {usage['cores']} cores busy"
        limit = "none"
    return {"limit": limit, "busiest": busiest, "largest": largest, "largest_share": round(share, 3),
            "verdict": verdict + carried}  # fmt: skip


# --- helpers --------------------------------------------------------------------------------------


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max by nearest rank (ms in, ms out)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": round(ordered[-1], 2)}


def record_calls() -> dict[str, dict[str, Any]]:
    """The PutItem and SendMessage of a warm invocation, recorded from the handler in a child process."""
    from benchmarks.probe_env import bench_env  # noqa: PLC0415 - needed only when recording

    return recorded_calls(bench_env(xray=False, pyc_prefix=None, write_pyc=False))


def _statuses(access_log: Path, since: float = 0.0, until: float = math.inf) -> Counter[int]:
    """Statuses the gateway answered for requests that arrived in [since, until) (its access log)."""
    counts: Counter[int] = Counter()
    with access_log.open() as lines:
        for line in lines:
            entry = json.loads(line)
            if since <= entry["ts"] < until:
                counts[int(entry["status"])] += 1
    return counts


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
            raise RuntimeError(f"{self.process.args[3:5]} said nothing within {timeout_s:.0f} s (see {self._log.name})")
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


# --- the rows -------------------------------------------------------------------------------------


def _backend_row(stage: LocalStage, meter: CpuMeter, options: Options, calls: Path, run_dir: Path) -> dict[str, Any]:
    info = stage.describe()
    command = ["backend", "--calls", str(calls),
               "--table", info["physical"]["OrdersTable"], "--queue", info["physical"]["ProcessingQueue"],
               "--threads", str(options.threads), "--seconds", str(options.backend_s)]  # fmt: skip
    return _child_row(stage, meter, command, run_dir, seconds=options.backend_s, orders_key="orders")


def _child_row(
    stage: LocalStage, meter: CpuMeter, command: list[str], run_dir: Path, *, seconds: float, orders_key: str
) -> dict[str, Any]:
    """Run one of this module's load children (``backend``, ``open-loop``) under the CPU meter; its result.

    ``orders_key`` names the result's count of orders that the row's CPU is divided by.
    """
    kind = command[0]
    child = Child([sys.executable, "-m", "benchmarks.e2e", *command], run_dir / "logs" / f"bench-{kind}.log")
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
    result["queue_max"] = _queue_depth(run_dir / "queues.jsonl", queue, start.wall, end.wall)
    return result


def _queue_name(info: dict[str, Any]) -> str:
    return str(info["physical"]["ProcessingQueue"]).rsplit("/", 1)[-1]


def _warm(stage: LocalStage, control: Path, options: Options, deadline: float) -> float:
    """Wait for every user to be spawned and the pool to stop growing (bounded); the warm-up's length."""
    pool = stage.pool
    if pool is None:
        raise RuntimeError("the stage is not running")
    began = time.monotonic()
    while not (control / "spawned").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    count, changed = pool.started, time.monotonic()
    while time.monotonic() < deadline:
        if pool.started != count:
            count, changed = pool.started, time.monotonic()
        elif time.monotonic() - changed >= options.settle_s:
            break
        time.sleep(0.1)
    return time.monotonic() - began


def _closed_row(stage: LocalStage, meter: CpuMeter, options: Options, run_dir: Path) -> dict[str, Any]:
    info = stage.describe()
    pool = stage.pool
    if pool is None:
        raise RuntimeError("the stage is not running")
    # Provisioned concurrency, one environment per user: the inits (~0.6 s of CPU each) run
    # now, not inside the measured window, where a hundred of them would take a core for half
    # a minute from the two this machine has.
    began = time.monotonic()
    provisioned = pool.provision(options.users)
    provision_s = time.monotonic() - began
    control = run_dir / "bench-closed"
    control.mkdir()
    bound = options.warmup_max_s + options.closed_s + 30
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", info["url"],
               "--users", str(options.users), "--spawn-rate", str(options.spawn_rate), "--run-time", f"{bound:.0f}s",
               "--stage-file", str(run_dir / "stage.json"), "--control-dir", str(control),
               "--measure-s", str(options.closed_s), "--warmup-max-s", str(options.warmup_max_s),
               "--only-summary", "--stop-timeout", "0", "--loglevel", "WARNING"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (run_dir / "logs" / "bench-locust.log").open("ab") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            meter.load = [locust.pid]
            launched = time.monotonic()
            warmup_s = _warm(stage, control, options, launched + options.warmup_max_s - 1)
            start = meter.snapshot()
            started_envs = pool.started
            (control / "go").write_text("go")
            result_file = control / "result.json"
            give_up = time.monotonic() + options.closed_s + 30
            while not result_file.exists() and time.monotonic() < give_up and locust.poll() is None:
                time.sleep(0.05)
            end = meter.snapshot()
            if not result_file.exists():
                raise RuntimeError(f"Locust gave no result (see {run_dir / 'logs' / 'bench-locust.log'})")
            result: dict[str, Any] = json.loads(result_file.read_text())
            locust.wait(timeout=30)
        finally:
            if locust.poll() is None:
                locust.kill()
                locust.wait(timeout=10)
    window = max(result["ended"] - result["started"], 1e-9)
    created = _statuses(run_dir / "access.log", start.wall, end.wall)[201]
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
        "queue_max": _queue_depth(run_dir / "queues.jsonl", _queue_name(info), start.wall, end.wall),
    }
    return result


def _open_row(stage: LocalStage, meter: CpuMeter, options: Options, run_dir: Path) -> dict[str, Any]:
    command = ["open-loop", "--stage-file", str(run_dir / "stage.json"),
               "--rate", str(options.open_rate), "--seconds", str(options.open_s),
               "--connections", str(options.open_connections), "--customers", str(options.open_customers)]  # fmt: skip
    return _child_row(stage, meter, command, run_dir, seconds=options.open_s, orders_key="created")


def _drain(stage: LocalStage) -> float:
    """Let the consumer empty the queue before the next row (each row starts from an empty queue)."""
    began = time.monotonic()
    if stage.consumer is not None and not stage.consumer.drain(quiet_s=1.0, timeout_s=90.0):
        raise RuntimeError("the queue's consumer did not catch up within 90 s")
    return round(time.monotonic() - began, 1)


def _count_items(table: str) -> int:
    dynamodb = boto3.client("dynamodb")
    count, page = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        answer = dynamodb.scan(**page)
        count += answer["Count"]
        if "LastEvaluatedKey" not in answer:
            return count
        page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _nothing_lost(stage: LocalStage, backend: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Every 201 of the run (and every order row 1 stored) is in the table; the queue was drained."""
    info = stage.describe()
    drained = stage.consumer.drain(quiet_s=2.0, timeout_s=30.0) if stage.consumer else False
    created = _statuses(run_dir / "access.log")[201]
    expected = created + backend["stored"]
    items = _count_items(info["physical"]["OrdersTable"])
    return {
        "gateway_201": created,
        "backend_stored": backend["stored"],
        "table_items": items,
        "missing": max(0, expected - items),
        "extra": max(0, items - expected),
        "messages_received": stage.consumer.received if stage.consumer else 0,
        "drained": drained,
    }


def measure(options: Options, run_dir: Path | None = None) -> dict[str, Any]:
    """Start a stage, run the three rows on it, check the table, stop it; the whole report."""
    calls = record_calls()
    run_dir = run_dir or new_run_dir("bench-e2e")
    run_dir.mkdir(parents=True, exist_ok=True)
    calls_file = run_dir / "calls.json"
    calls_file.write_text(json.dumps(calls))
    customers = max(options.users, options.open_customers)
    report: dict[str, Any] = {"options": options.__dict__, "run_dir": str(run_dir)}
    started = time.monotonic()
    with LocalStage(run_dir, concurrency=options.concurrency, customers=customers) as stage:
        report["stage_start_s"] = round(time.monotonic() - started, 1)
        backend = stage.backend
        report["moto_processes"] = dict(zip(SERVICE_GROUPS, backend.pids if backend else [], strict=False))
        meter = CpuMeter(stage)
        report["backend"] = _backend_row(stage, meter, options, calls_file, run_dir)
        report["backend"]["drain_s"] = _drain(stage)
        report["closed"] = _closed_row(stage, meter, options, run_dir)
        report["closed"]["drain_s"] = _drain(stage)
        report["open"] = _open_row(stage, meter, options, run_dir)
        report["open"]["drain_s"] = _drain(stage)
        # The same open loop at half the closed loop's throughput: the latency of a stage that
        # is not saturated, on whatever machine this runs.
        half = replace(options, open_rate=max(1.0, round(report["closed"]["rps"] / 2)))
        report["open_half"] = _open_row(stage, meter, half, run_dir)
        report["nothing_lost"] = _nothing_lost(stage, report["backend"], run_dir)
    capacity = report["backend"]["orders_per_s"]
    report["closed"]["ratio_to_backend"] = round(report["closed"]["rps"] / capacity, 2) if capacity else None
    report["bottleneck"] = {row: bottleneck(report[row]["cpu"]) for row in ROWS}
    report["wall_s"] = round(time.monotonic() - started, 1)
    (run_dir / "e2e.json").write_text(json.dumps(report, indent=1))
    return report


# --- child: backend-only load ---------------------------------------------------------------------


def _order_calls(args: argparse.Namespace, tally: Counter[str]) -> Callable[[], Callable[[], None]]:
    """A maker of one new order's two calls, with the handler's recorded parameters and a fresh id."""
    calls = json.loads(args.calls.read_text())
    put = {**calls["PutItem"], "TableName": args.table}
    send = {**calls["SendMessage"], "QueueUrl": args.queue}
    recorded_id = put["Item"]["id"]["S"]
    # The function's client settings (standard retries, 3 attempts, keep-alive, no client-side
    # re-validation), with a pool as wide as the threads.
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3,
                    tcp_keepalive=True, max_pool_connections=args.threads, parameter_validation=False)  # fmt: skip
    dynamodb, sqs = boto3.client("dynamodb", config=config), boto3.client("sqs", config=config)

    def order() -> Callable[[], None]:
        order_id = str(uuid.uuid4())
        item = {**put["Item"], "id": {"S": order_id}}
        body = send["MessageBody"].replace(recorded_id, order_id)

        def calls_for_one_order() -> None:
            dynamodb.put_item(**{**put, "Item": item})
            tally["stored"] += 1
            sqs.send_message(**{**send, "MessageBody": body})

        return calls_for_one_order

    return order


def _backend_main(argv: list[str]) -> None:
    """Orders made straight against moto from ``--threads`` threads: warm, ``ready``, ``go``, measure."""
    parser = argparse.ArgumentParser(prog="benchmarks.e2e backend")
    parser.add_argument("--calls", type=Path, required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    tally: Counter[str] = Counter()
    order = _order_calls(args, tally)
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.threads + 1, timeout=60)
    go, stop = threading.Event(), threading.Event()

    def run() -> None:
        mine: list[float] = []
        errors = 0
        with contextlib.suppress(BotoCoreError, ClientError):
            order()()  # a warm connection on each side first
        ready.wait()
        go.wait()
        while not stop.is_set():
            one = order()
            started = time.perf_counter()
            try:
                one()
            except (BotoCoreError, ClientError):
                errors += 1
                continue
            if not stop.is_set():
                mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            tally["errors"] += errors

    threads = [threading.Thread(target=run, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    began = time.perf_counter()
    go.set()
    time.sleep(args.seconds)
    stop.set()
    elapsed = time.perf_counter() - began
    for thread in threads:
        thread.join(timeout=30)
    print(json.dumps({
        "threads": args.threads, "seconds": round(elapsed, 2), "orders": len(latencies),
        "orders_per_s": round(len(latencies) / elapsed, 1), "errors": tally["errors"], "stored": tally["stored"],
        **percentiles(latencies),
    }), flush=True)  # fmt: skip


# --- child: open-loop load ------------------------------------------------------------------------


def _open_loop_requests(stage: dict[str, Any], args: argparse.Namespace) -> list[tuple[bytes, dict[str, str]]]:
    """Every request of the run, built before it starts: body and headers (a customer's token each)."""
    cognito = boto3.client("cognito-idp")
    tokens = [
        (customer["customer_id"], id_token(stage, customer, cognito))
        for customer in stage["customers"][: args.customers]
    ]
    orderable = [p for p, spec in stage["catalog"].items() if spec["active"] and spec["currency"] == "USD"]
    dice = random.Random(6)  # noqa: S311 - test data
    total = int(args.rate * args.seconds)
    requests = []
    for i in range(total):
        customer_id, token = tokens[i % len(tokens)]
        products = dice.sample(orderable, k=dice.randint(1, min(3, len(orderable))))
        body = {
            "customer_id": customer_id,
            "items": [{"product_id": p, "quantity": dice.randint(1, 5)} for p in products],
        }
        headers = {"Content-Type": "application/json", "Authorization": token, "Idempotency-Key": str(uuid.uuid4())}
        requests.append((json.dumps(body).encode(), headers))
    return requests


def _open_loop_main(argv: list[str]) -> None:
    """POSTs on a fixed schedule (``--rate`` a second for ``--seconds``) over keep-alive connections.

    Open loop: request ``i`` is due at ``t0 + i / rate`` whatever happened to the ones before;
    each connection thread takes the next due request, sleeps until it is due and sends it, and
    its latency counts from the time it was due, not from when it was sent, so a stage that
    falls behind shows its queueing instead of slowing the load down (coordinated omission).
    Locust users wait for their own responses (a closed loop), hence this small stdlib
    generator: threads and ``http.client``. It does not import the locustfile's helpers either:
    importing Locust patches ``socket`` and ``threading`` with gevent. The requests are the
    locustfile customers' own: a valid order of 1-3 active USD products, a fresh
    ``Idempotency-Key``, the customer's Cognito ID token (``USER_PASSWORD_AUTH``).
    """
    parser = argparse.ArgumentParser(prog="benchmarks.e2e open-loop")
    parser.add_argument("--stage-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--timeout-s", type=float, default=35.0)
    args = parser.parse_args(argv)
    stage = json.loads(args.stage_file.read_text())
    requests = _open_loop_requests(stage, args)
    total = len(requests)
    url = urlsplit(stage["orders_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    outcomes: list[tuple[float, float, float, int] | None] = [None] * total
    next_index = iter(range(total))  # next() on a range iterator is atomic under the GIL
    clock: dict[str, float] = {}
    go = threading.Event()
    connections = [http.client.HTTPConnection(host, port, timeout=args.timeout_s) for _ in range(args.connections)]
    for connection in connections:
        connection.connect()

    def run(connection: http.client.HTTPConnection) -> None:
        go.wait()
        t0, cut_off = clock["t0"], clock["cut_off"]
        for i in next_index:
            due = t0 + i / args.rate
            if due > cut_off:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                connection.request("POST", url.path, body=requests[i][0], headers=requests[i][1])
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()  # http.client reconnects on the next request
                status = 0
            outcomes[i] = (due, sent, time.monotonic(), status)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in connections]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.readline()
    clock["t0"] = time.monotonic() + 0.01
    clock["cut_off"] = clock["t0"] + args.seconds + 30  # a stage far behind: stop sending, count the rest unsent
    go.set()
    for thread in threads:
        thread.join(timeout=args.seconds + 30 + args.timeout_s)
    done = [o for o in outcomes if o is not None]
    statuses = Counter(str(o[3]) for o in done)
    last = max((o[2] for o in done), default=clock["t0"])
    print(json.dumps({
        "rate": args.rate, "seconds": args.seconds, "scheduled": total, "sent": len(done),
        "achieved_rate": round(len(done) / max(last - clock["t0"], 1e-9), 1),
        "created": statuses.get("201", 0), "errors": total - statuses.get("201", 0), "statuses": statuses,
        **percentiles((end - due) * 1000 for due, _, end, _ in done),
        "service_p95_ms": percentiles((end - sent) * 1000 for _, sent, end, _ in done)["p95_ms"],
        "send_lag_p99_ms": percentiles((sent - due) * 1000 for due, sent, _, _ in done)["p99_ms"],
    }), flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """The whole section (default), or one of its load children (``backend``, ``open-loop``)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["backend"]:
        _backend_main(argv[1:])
        return 0
    if argv[:1] == ["open-loop"]:
        _open_loop_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a couple of seconds per row")
    parser.add_argument("--backend-s", type=float)
    parser.add_argument("--closed-s", type=float)
    parser.add_argument("--open-s", type=float)
    parser.add_argument("--open-rate", type=float)
    parser.add_argument("--users", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: a new folder under reports/")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    options = Options.tiny() if args.smoke else Options()
    for name in ("backend_s", "closed_s", "open_s", "open_rate", "users", "threads"):
        if getattr(args, name) is not None:
            setattr(options, name, getattr(args, name))
    report = measure(options, args.run_dir)
    text = json.dumps(report)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
