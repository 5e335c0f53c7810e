"""The main job: the local stage under Locust (100 users by default), then the audit.

    python -m loadtests.run [--users 100] [--spawn-rate 20] [--run-time 60s] [--shape steady]
                            [--processes N]   # N > 0: one Locust master and N workers
                            [--snapstart]     # Lambda SnapStart: environments restored from a snapshot
                            [--rss-sample-s S [--rss-settle-s 60] [--rss-growth-mib 5]]
                            [--baseline RUN_DIR|latest [--strict] [--latency-pct 15 ...]]

On several hosts (Locust's distributed mode; see the README's "many machines"):

    python -m loadtests.run --role master --stage-host ADDR --master-bind-host ADDR --expect-workers N
    python -m loadtests.run --role worker --master-host ADDR     # on each worker host, N times

``--rss-sample-s`` samples the execution environments' RSS every S seconds (memory.jsonl) and
fails the run when one grew by more than ``--rss-growth-mib`` from its first sample once it
has lived the settling time to its last (``python -m loadtests.soak`` turns it on).

Exits non-zero when the SLO gate or any audit invariant fails. The host is measured while
Locust runs (``loadtests.host``: cores busy, the stage's CPU, Locust's, the rest), and a failed
SLO verdict is printed with its likely cause (``loadtests.gate.likely_cause``). Everything lands
in a run folder under reports/: stage.json, access.log, logs/ (moto and its request logs,
workers with REPORT lines and EMF), ledger/, messages.jsonl, queues.jsonl, Locust's CSV and
HTML, slo.json (the gate's verdict), audit.json, summary.json, timeline.json, and the dashboard
drawn from all of it (dashboard/). With ``--baseline`` the run is then judged against that
run (``runreport.compare``; compare.md, compare.png): a regression exits 1, unlike runs under
``--strict`` 2 — once the SLO gate and the audit have passed, as they judge first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.inject import read_journal
from chaos.plan import FaultPlan
from chaos.report import FaultClock, chaos_report
from chaos.schedule import NetworkSchedule
from harness import slo
from harness.machine import this_machine
from harness.readings import reap
from harness.runfolder import RunFolder
from loadtests.audit.folder import audit_stage
from loadtests.audit.report import INVARIANTS
from loadtests.gate import SloVerdict, likely_cause
from loadtests.host import LOCUST, STAGE, CpuSample, HostLoad, cpu_sample, host_load
from loadtests.ledger import read_ledgers
from loadtests.memory import RssSampler
from loadtests.memory_judge import memory_report
from localstage.allotment import Allotment, add_arguments
from localstage.backend import free_port
from localstage.local import LocalStage, new_run_dir
from localstage.snapstart import state_line
from runreport import compare_cli
from runreport.cost import consumption, price
from runreport.cost import line as cost_line
from runreport.render import allotment_line, render_run
from runreport.runfigures import AGGREGATED, read_requests

if TYPE_CHECKING:
    from collections.abc import Callable

    from loadtests.audit.report import AuditReport

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PLANS = LOCUSTFILE.parents[1] / "chaos" / "plans"


def load_arguments(description: str, run_time: str, spawn_rate: float) -> argparse.ArgumentParser:
    """The options every runner shares (users, time, shape, processes, weights, SLO)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=float, default=spawn_rate)
    parser.add_argument("--run-time", default=run_time)
    parser.add_argument("--shape", choices=["steady", "step", "spike"], default=None)
    parser.add_argument("--processes", type=int, default=0, help="Locust workers on this host (0: one process)")
    roles = parser.add_argument_group("several hosts (Locust's distributed mode)")
    roles.add_argument("--role", choices=["local", "master", "worker"], default="local")
    roles.add_argument("--master-bind-host", default="127.0.0.1", help="master: the address workers connect to")
    roles.add_argument("--master-port", type=int, default=5557, help="master: listen on; worker: connect to")
    roles.add_argument("--expect-workers", type=int, default=1, help="master: start once this many are in")
    roles.add_argument("--worker-wait-s", type=int, default=300, help="master: give up waiting for workers after")
    roles.add_argument("--master-host", default="127.0.0.1", help="worker: the master's address")
    parser.add_argument("--weights", default="customer=8,duplicate=1,bad=1,intruder=1")
    parser.add_argument("--slo-p95-ms", type=float, default=float(slo.LATENCY_P95_MS))
    parser.add_argument("--slo-error-ratio", type=float, default=slo.SERVER_ERROR_RATIO)
    return parser


def parser() -> argparse.ArgumentParser:
    """The main job's options: the runners' shared ones, the stage's (its allotment too), chaos and the RSS watch."""
    options = load_arguments(__doc__.splitlines()[0], "60s", 20)
    options.add_argument("--concurrency", type=int, default=100, help="execution environments at most")
    options.add_argument("--stage-host", default="127.0.0.1", help="the address the stage listens on")
    options.add_argument("--chaos", default=None, help="a fault plan: a TOML path or a name in chaos/plans/")
    options.add_argument(
        "--snapstart",
        action="store_true",
        help="Lambda SnapStart: one environment initialised and snapshotted at the start, every new one restored "
        "from it (restores, not cold starts)",
    )
    options.add_argument("--rss-sample-s", type=float, default=0, help="sample the environments' RSS (0: off)")
    options.add_argument("--rss-settle-s", type=float, default=60, help="growth counts from this age on")
    options.add_argument("--rss-growth-mib", type=float, default=5, help="RSS growth per environment at most")
    add_arguments(options)
    options.add_argument("--baseline", default=None, help="judge the run against this run folder, or latest")
    compare_cli.add_arguments(options)
    return options


def arguments(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The main job's options from ``argv``, and the ones it does not know, which go to Locust."""
    args, extra = parser().parse_known_args(argv)
    if args.snapstart and args.chaos:
        parser().error("--snapstart with --chaos: not emulated (a fault plan's zero would be the snapshot's)")
    if args.chaos:
        path = Path(args.chaos)
        args.chaos = path if path.suffix == ".toml" else PLANS / f"{args.chaos}.toml"
        if "--slo-error-ratio" not in (argv or sys.argv):
            args.slo_error_ratio = 1.0  # faults are the point: a chaos run fails on invariants only
            args.slo_p95_ms = 1e9
    return args, extra


def locust_commands(
    args: argparse.Namespace, extra: list[str], url: str, run_dir: Path, target: list[str]
) -> list[list[str]]:
    """Locust's command lines: one headless process, or a master and ``args.processes`` workers.

    ``target`` names the stage (``--stage-file ...`` or the deployed stack's users and client).
    """
    common = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--weights", args.weights]
    if args.role == "worker":
        # Its part comes from the master; its own copy of its ledger stays in its run folder.
        master = ["--master-host", args.master_host, "--master-port", str(args.master_port)]
        return [[*common, "--worker", *master, "--ledger-dir", str(RunFolder(run_dir).ledger_spool())]]
    common += target
    folder = RunFolder(run_dir)
    lead = [
        *common, "--headless", "--host", url, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", args.run_time, "--slo-p95-ms", str(args.slo_p95_ms),
        "--slo-error-ratio", str(args.slo_error_ratio), "--csv", str(folder.locust_csv),
        "--html", str(folder.locust_html), "--only-summary", "--stop-timeout", "40",
        "--verdict-file", str(folder.slo_verdict), *extra,
    ]  # fmt: skip
    if args.role == "master":
        return [_master(lead, args.master_bind_host, args.master_port, args.expect_workers, args.worker_wait_s)]
    if args.processes <= 0:
        return [lead]
    port = free_port()
    master = _master(lead, "127.0.0.1", port, args.processes, args.worker_wait_s)
    worker = [*common, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return [master] + [[*worker, "--ledger-dir", str(folder.ledger_spool(n))] for n in range(args.processes)]


def _master(lead: list[str], bind: str, port: int, workers: int, wait_s: int) -> list[str]:
    return [
        *lead, "--master", "--master-bind-host", bind, "--master-bind-port", str(port),
        "--expect-workers", str(workers), "--expect-workers-max-wait", str(wait_s),
    ]  # fmt: skip


def run_locust(
    commands: list[list[str]], shape: str | None, on_exit: Callable[[dict[int, float]], None] | None = None
) -> int:
    """Run the first command to its end, with the others (workers) beside it; its exit code.

    ``on_exit`` gets every Locust process's CPU seconds to its end, by pid, once all have exited:
    each read as it is reaped (a worker still running 60 s after the first has exited is killed).
    """
    env = {**os.environ, "PYTHONPATH": str(LOCUSTFILE.parents[1])}
    if shape:
        env["LOAD_SHAPE"] = shape
    first, *workers = commands
    helpers = [subprocess.Popen(command, env=env) for command in workers]  # noqa: S603 - our interpreter
    cpu: dict[int, float] = {}
    try:
        with subprocess.Popen(first, env=env) as lead:  # noqa: S603
            try:
                exit_code, cpu[lead.pid] = reap(lead)
            except BaseException:
                lead.kill()
                raise
    finally:
        for helper in helpers:
            _, cpu[helper.pid] = reap(helper, 60)
    if on_exit is not None:
        on_exit(cpu)
    return exit_code


def _stage_pids(stage: LocalStage) -> list[int]:
    """The stage's processes: this one (the gateway, the consumer), the moto servers, the environments."""
    backend = stage.backend.pids if stage.backend else []
    snapshot = [stage.pool.snapshot_pid] if stage.pool and stage.pool.snapshot_pid else []
    return [os.getpid(), *backend, *snapshot, *(stage.pool.pids if stage.pool else [])]


def _cold_starts(stage: LocalStage) -> int:
    return stage.pool.started if stage.pool else 0


def _restores(stage: LocalStage) -> int:
    return stage.pool.restored if stage.pool else 0


@dataclass
class SloWindow:
    """The host while Locust runs, the window its SLO verdict covers: sampled at its start and as Locust exits."""

    stage: LocalStage
    start: CpuSample = field(init=False)
    started_before: int = field(init=False)
    restored_before: int = field(init=False)
    end: CpuSample | None = None
    started_after: int = 0
    restored_after: int = 0

    def __post_init__(self) -> None:
        self.start = cpu_sample({STAGE: _stage_pids(self.stage)})
        self.started_before = _cold_starts(self.stage)
        self.restored_before = _restores(self.stage)

    def close(self, locust: dict[int, float]) -> None:
        """The window's end: Locust's processes have exited; ``locust`` holds each one's CPU seconds to its end."""
        end = cpu_sample({STAGE: _stage_pids(self.stage)})
        self.end = replace(end, groups={**end.groups, LOCUST: locust})
        self.started_after = _cold_starts(self.stage)
        self.restored_after = _restores(self.stage)

    @property
    def cold_starts(self) -> int:
        """Execution environments started in the window."""
        return max(0, self.started_after - self.started_before)

    @property
    def restores(self) -> int:
        """Execution environments restored from the SnapStart snapshot in the window."""
        return max(0, self.restored_after - self.restored_before)

    def load(self) -> HostLoad | None:
        """The host's load over the window (None when it never closed: Locust did not run to its end)."""
        return host_load(self.start, self.end) if self.end is not None else None


def load_setup(args: argparse.Namespace) -> dict[str, Any]:
    """The load a run made, as ``summary.json`` records it: a comparison holds two runs' side by side."""
    return {
        "users": args.users, "spawn_rate": args.spawn_rate, "shape": args.shape, "run_time": args.run_time,
        "processes": args.processes, "weights": args.weights, "chaos": str(args.chaos) if args.chaos else None,
    }  # fmt: skip


def summarize(
    run_dir: Path,
    report: AuditReport,
    cold_starts: int,
    window: SloWindow | None = None,
    load: dict[str, Any] | None = None,
    *,
    restores: int = 0,
) -> dict[str, Any]:
    """The figures a person reads first: Locust's CSV and verdict, the audit, the host while Locust ran.

    ``cold_starts``: environments initialised for requests; ``restores``: environments restored
    from the SnapStart snapshot (whose own init, at the start, is neither).

    A failed verdict gets its likely cause from the host's load and the cold starts in ``window``.
    The setup, so that two runs can be held like with like: this machine, the allotment in
    force (the stage file's), and ``load`` (:func:`load_setup`). And what the run's orders cost,
    priced from its own consumption (``runreport.cost``).
    """
    folder = RunFolder(run_dir)
    requests = read_requests(folder.locust_stats)
    summary: dict[str, Any] = {"cold_starts": cold_starts, "restores": restores, "status_mix": report.statuses}
    for label, name in (("all", AGGREGATED), ("create order", "create order")):
        figures = requests.get(name)
        if figures:
            summary[label] = {
                "requests": figures.requests,
                "failures": figures.failures,
                "rps": round(figures.rps, 1),
                # None where Locust measured nothing (no request of that name answered): 0 here
                **{f"p{q}_ms": getattr(figures, f"p{q}_ms") or 0.0 for q in (50, 95, 99)},
            }
    summary["invariants"] = {name: getattr(report, name) for name in INVARIANTS}
    summary["allotment"] = json.loads(folder.stage_file.read_text()).get("allotment")
    summary["machine"] = this_machine().as_json()
    summary["load"] = load
    summary["audit_passed"] = report.passed
    summary["cost"] = price(consumption(run_dir))
    host = window.load() if window is not None else None
    summary["host"] = None
    if window is not None and host is not None:
        summary["host"] = {
            **host.as_json(), "cold_starts": window.cold_starts, "restores": window.restores, "line": host.line(),
        }  # fmt: skip
    verdict_file = folder.slo_verdict
    summary["slo"] = json.loads(verdict_file.read_text()) if verdict_file.is_file() else None
    if summary["slo"] is not None and window is not None and host is not None:
        summary["slo"]["cause"] = likely_cause(SloVerdict.from_json(summary["slo"]), host, window.cold_starts)
    folder.summary.write_text(json.dumps(summary, indent=2))
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    print("\nsummary")
    for label in ("all", "create order"):
        if label in summary:
            s = summary[label]
            print(
                f"  {label:<13} requests {s['requests']:>6}  failures {s['failures']:>4}  RPS {s['rps']:>6}  "
                f"p50 {s['p50_ms']:>5.0f} ms  p95 {s['p95_ms']:>5.0f} ms  p99 {s['p99_ms']:>5.0f} ms"
            )
    print(f"  cold starts   {summary['cold_starts']}")
    print(f"  restores      {summary.get('restores', 0)}")
    if summary.get("cost"):
        print(f"  cost          {cost_line(summary['cost'])}")
    if summary.get("allotment"):
        print(f"  allotment     {allotment_line(summary['allotment'])}")
    if summary["host"] is not None:
        host = summary["host"]
        print(f"  host          {host['line']}; {host['cold_starts']} cold starts, {host.get('restores', 0)} restores")
    print("  status mix    " + ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_mix"].items())))
    print("  invariants    " + ", ".join(f"{k} {v}" for k, v in summary["invariants"].items()))
    if summary["slo"] is not None:
        print(f"  {summary['slo']['line']}")
        if summary["slo"].get("cause"):
            print(f"  likely cause: {summary['slo']['cause']}")


def _write_timeline(run_dir: Path, started_at: float, plan: FaultPlan | None) -> None:
    """When the load ran, and the chaos phases (seconds from its start): the dashboard's time axis."""
    phases = (
        [{"name": p["name"], "start_s": float(p["start_s"]), "end_s": float(p["end_s"])} for p in plan.phases]
        if plan
        else []
    )
    timeline = {"started_at": started_at, "ended_at": time.time(), "phases": phases}
    RunFolder(run_dir).timeline.write_text(json.dumps(timeline, indent=2))


def main(argv: list[str] | None = None) -> int:
    """Run the stage, Locust headless against it, drain the queue, audit; return the exit code."""
    args, extra = arguments(argv)
    if args.role == "worker":
        return _work(args, extra)
    run_dir = new_run_dir("chaos" if args.chaos else "load")
    plan = FaultPlan.load(args.chaos) if args.chaos else None
    stage_options = {
        "concurrency": args.concurrency,
        "customers": max(args.users, 1),
        "chaos_plan": args.chaos,
        "network_faults": bool(plan and plan.network),
        "host": args.stage_host,
        "allotment": Allotment.from_arguments(args),
        "snapstart": args.snapstart,
    }
    with LocalStage(run_dir, **stage_options) as stage:
        info = stage.describe()
        print(f"stage up: {info['orders_url']} (run folder {run_dir})", flush=True)
        print(f"allotment: {allotment_line(info['allotment'])}", flush=True)
        print(f"interpreter: {info['interpreter']}", flush=True)
        if info["snapstart"] is not None:
            print(f"snapstart: {state_line(info['snapstart'])}", flush=True)
        started_at = time.time()  # the plan's zero: injectors, network schedule and report count from it
        if stage.pool is not None and plan is not None:
            stage.pool.count_faults_from(started_at)
        schedule = NetworkSchedule(plan, stage.proxies, started_at).start() if plan and plan.network else None
        pool = stage.pool
        sampler = None
        if pool is not None and args.rss_sample_s > 0:
            sampler = RssSampler(lambda: pool.pids, RunFolder(run_dir).memory_samples, args.rss_sample_s)
        if sampler is not None:
            sampler.start()
        window = SloWindow(stage)
        try:
            target = ["--stage-file", str(RunFolder(run_dir).stage_file)]
            commands = locust_commands(args, extra, info["url"], run_dir, target)
            exit_code = run_locust(commands, args.shape, window.close)
        finally:
            if schedule is not None:
                schedule.stop()
            if sampler is not None:
                sampler.stop()
        _write_timeline(run_dir, started_at, plan)
        drained = stage.consumer.drain() if stage.consumer else False
        report = audit_stage(run_dir, info["physical"])
        cold_starts, restores = _cold_starts(stage), _restores(stage)
    print(report.table())
    _print_summary(summarize(run_dir, report, cold_starts, window, load_setup(args), restores=restores))
    memory_flat = sampler is None or _memory_verdict(run_dir, sampler.path, args)
    chaos_passed = plan is None or _chaos_verdict(run_dir, plan, started_at, report)
    if not drained:
        print("the queue was still receiving messages when the audit ran")
    print(f"dashboard: {render_run(run_dir)}")
    print(f"run folder: {run_dir}")
    passed = exit_code == 0 and report.passed and chaos_passed and drained and memory_flat
    return exit_status(passed, _compare(run_dir, args) if args.baseline else None)


def exit_status(passed: bool, compared: int | None) -> int:
    """The main job's exit status: 1 when the SLO gate, the audit or another first judge failed the run.

    They judge first: a run they fail exits 1 whatever the comparison said. One they pass
    exits with the comparison's status (``compared``; None when there was no baseline).
    """
    if not passed:
        return 1
    return compare_cli.NO_REGRESSION if compared is None else compared


def _compare(run_dir: Path, args: argparse.Namespace) -> int:
    """This run judged against ``--baseline``: the table printed, compare.md and compare.png; the exit status."""
    print(f"\ncompared with the baseline {args.baseline}")
    return compare_cli.compare_runs(args.baseline, run_dir, compare_cli.thresholds_of(args), strict=args.strict)


def _memory_verdict(run_dir: Path, samples: Path, args: argparse.Namespace) -> bool:
    """The environments' RSS over the run, judged (memory.json); whether it stayed flat."""
    memory = memory_report(samples, settle_s=args.rss_settle_s, limit_mib=args.rss_growth_mib)
    RunFolder(run_dir).memory.write_text(json.dumps(memory.as_json(), indent=2))
    print("\n" + memory.table())
    return memory.flat


def _chaos_verdict(run_dir: Path, plan: FaultPlan, started_at: float, report: AuditReport) -> bool:
    """The per-phase chaos report on the faults' clock (chaos.json); whether it passed."""
    folder = RunFolder(run_dir)
    clock = FaultClock.from_journal(started_at, read_journal(folder.logs.worker_logs()))
    chaos = chaos_report(read_ledgers(folder.ledger_dir), plan, clock, report.breaches)
    folder.chaos.write_text(json.dumps(chaos.as_json(), indent=2))
    print("\nchaos phases (customers' orders, on the faults' clock)\n" + chaos.table())
    return chaos.passed


def _work(args: argparse.Namespace, extra: list[str]) -> int:
    """A worker host's part: Locust as a worker of the master at ``--master-host``; no stage here."""
    run_dir = new_run_dir("worker")
    print(f"worker of {args.master_host}:{args.master_port} (run folder {run_dir})", flush=True)
    exit_code = run_locust(locust_commands(args, extra, "", run_dir, []), args.shape)
    print(f"run folder: {run_dir}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
