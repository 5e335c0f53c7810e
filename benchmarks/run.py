"""The benchmark suite: every figure measured side by side with its reference, in one run.

    python -m benchmarks.run [--cold-runs 15] [--invocations 5000] [--memory-invocations 10000]
                             [--no-e2e] [--no-cpu-share] [--no-snapstart] [--json PATH] [--smoke]
                             [--baseline FILE [--strict]]

Prints one table, each target beside its figure with whether it holds, then the verdict
(``benchmarks.targets``), and writes it all as JSON (default ``reports/bench-<time>.json``).
Not a test, but a judge: it exits 1 when a target fails the run, i.e. an in-process target
(cold start, warm CPU, RSS), an end-to-end target failing while nothing on the stage was
saturated, a CPU share ratio off Lambda's while no size waited for a core, or any correctness
target (failed requests, non-201 answers, orders missing). An end-to-end or CPU share target
failing on a saturated host is reported with what limited it. ``--smoke`` enforces the
correctness targets only. With ``--baseline`` the rows are then judged against an earlier
run's JSON (``benchmarks.baseline``): 1 on a regression, 2 when ``--strict`` refuses another
machine's run; a failed target stays the first judge.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import baseline, cpu_share, snapstart
from benchmarks.probe_env import bench_env
from benchmarks.targets import (
    CLOSED_P95_MS,
    CLOSED_VS_BACKEND,
    COLD_VS_FLOOR,
    COLD_VS_NAIVE,
    NOT_SATURATED,
    OPEN_P95_MS,
    RSS_GROWTH_MIB,
    RSS_PEAK_MIB,
    STAGE_CPU_VS_FLOOR,
    WARM_VS_FLOOR_XRAY_OFF,
    WARM_VS_FLOOR_XRAY_ON,
    ZERO,
    Row,
    Verdict,
    judge,
)
from harness.runfolder import bench_report
from runreport import compare_table
from runreport.compare_cli import NO_REGRESSION, REFUSED, REGRESSED

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("bare", "floor", "handler", "naive")


def _probe(kind: str, variant: str, env: dict[str, str], *extra: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "benchmarks.probe", kind, variant, *extra],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"probe {kind} {variant} failed:\n{result.stderr[-3000:]}")
    return elapsed, result.stdout.strip()


def cold_start(runs: int, scratch: Path) -> list[Row]:
    """Fresh-process wall time, with compiled files and without; medians, interleaved by round."""
    rows = []
    for label, compiled in (("cold start, .pyc present", True), ("cold start, no .pyc", False)):
        prefix = scratch / ("pyc" if compiled else "empty")
        prefix.mkdir(exist_ok=True)
        env = bench_env(xray=True, pyc_prefix=str(prefix), write_pyc=compiled)
        if compiled:
            for variant in VARIANTS:  # writes the .pyc files every later run reads
                _probe("cold", variant, env)
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(runs):
            for variant in VARIANTS:
                times[variant].append(_probe("cold", variant, env)[0])
        median = {v: statistics.median(t) for v, t in times.items()}
        over = {v: median[v] - median["bare"] for v in VARIANTS}
        rows.append(Row(label, "bare Python", round(median["bare"], 1), "ms wall"))
        rows.append(Row(label, "floor: boto3 + 2 clients", round(over["floor"], 1), "ms over bare"))
        rows.append(Row(label, "naive baseline", round(over["naive"], 1), "ms over bare"))
        rows.append(Row(label, "handler", round(over["handler"], 1), "ms over bare", "floor",
                        round(over["handler"] / over["floor"], 2), COLD_VS_FLOOR if compiled else None))  # fmt: skip
        rows.append(Row(label, "handler", round(over["handler"], 1), "ms over bare", "naive",
                        round(over["handler"] / over["naive"], 2), COLD_VS_NAIVE if compiled else None))  # fmt: skip
    return rows


WARM_ROUNDS = 3
"""Rounds of floor-then-handler probes per X-Ray setting; the median of each is kept.

Alternating the two in fresh processes keeps a drift of the machine's speed (other tenants,
clock) out of their ratio, which a single back-to-back pair would take in whole."""


def warm_cpu(invocations: int, scratch: Path, rounds: int = WARM_ROUNDS) -> list[Row]:
    """CPU per warm invocation, SDK answered at the edge; X-Ray off and on."""
    rows = []
    prefix = str(scratch / "pyc")
    for xray, target in ((False, WARM_VS_FLOOR_XRAY_OFF), (True, WARM_VS_FLOOR_XRAY_ON)):
        env = bench_env(xray=xray, pyc_prefix=prefix, write_pyc=True)
        samples: dict[str, list[float]] = {"floor": [], "handler": []}
        for _ in range(rounds):
            for variant, values in samples.items():
                _, out = _probe("warm", variant, env, "--invocations", str(invocations))
                values.append(json.loads(out)["cpu_us"])
        measured = {variant: round(statistics.median(values), 1) for variant, values in samples.items()}
        # The naive baseline is far above the floor (BENCHMARKS.md, T1): fewer invocations place it well enough.
        _, out = _probe("warm", "naive", env, "--invocations", str(max(1, invocations // 5)))
        measured["naive"] = json.loads(out)["cpu_us"]
        label = f"warm CPU per invocation, X-Ray {'on' if xray else 'off'}"
        rows.append(Row(label, "floor: PutItem + SendMessage", measured["floor"], "us"))
        rows.append(Row(label, "naive baseline", measured["naive"], "us", "floor",
                        round(measured["naive"] / measured["floor"], 2)))  # fmt: skip
        rows.append(Row(label, "handler", measured["handler"], "us", "floor",
                        round(measured["handler"] / measured["floor"], 2), target))  # fmt: skip
    return rows


def memory(invocations: int, scratch: Path) -> list[Row]:
    """Allocations of one warm invocation (tracemalloc) and RSS over many."""
    rows = []
    env = bench_env(xray=True, pyc_prefix=str(scratch / "pyc"), write_pyc=True)
    for variant in ("handler", "naive"):
        _, out = _probe("memory", variant, env, "--invocations", str(invocations))
        m = json.loads(out)
        name = "handler" if variant == "handler" else "naive baseline"
        rows.append(Row("allocations per warm invocation", name, m["peak_bytes"], "bytes at peak"))
        rows.append(Row("allocations per warm invocation", name, m["kept_blocks"], "blocks kept"))
        rows.append(Row("allocations per warm invocation", name, m["net_bytes"], "bytes kept"))
        growth = m["rss_end_kib"] - m["rss_start_kib"]
        rows.append(Row(f"RSS over {invocations} invocations", name, round(growth / 1024, 2), "MiB growth",
                        target=RSS_GROWTH_MIB if variant == "handler" else None))  # fmt: skip
        rows.append(Row(f"RSS over {invocations} invocations", name, round(m["max_rss_kib"] / 1024, 1),
                        "MiB peak", target=RSS_PEAK_MIB if variant == "handler" else None))  # fmt: skip
    return rows


def end_to_end(smoke: bool) -> tuple[list[Row], dict[str, Any]]:
    """The local stage: backend-only capacity, 100 users closed loop, a fixed arrival rate (benchmarks/e2e.py)."""
    from benchmarks import e2e  # noqa: PLC0415 - the stage's dependencies only when this section runs

    options = e2e.Options.tiny() if smoke else e2e.Options()
    report = e2e.measure(options)
    backend, closed, opened, half = report["backend"], report["closed"], report["open"], report["open_half"]
    audit = report["nothing_lost"]
    capacity = f"end to end: backend only, {options.threads} threads"
    loop = f"end to end: closed loop, {options.users} users"
    rate = f"end to end: open loop, {options.open_rate:.0f} req/s"
    calm = f"end to end: open loop, {half['rate']:.0f} req/s"
    # Each row names the stage row (a key of report["bottleneck"]) it was measured in: a failing
    # speed target there is excused when that row's bottleneck was saturated. The closed loop's
    # ratio to the backend-only capacity goes with the closed loop, whose throughput it judges.
    # The audit spans the whole run and, like every count of failures, is never excused.
    via, slower = "handler via the stage", "at half the closed loop's rate"
    rows = [
        Row(capacity, "PutItem + SendMessage on moto", backend["orders_per_s"], "orders/s", stage_row="backend"),
        Row(capacity, "per order", backend["p95_ms"], "ms p95", stage_row="backend"),
        Row(loop, via, closed["rps"], "req/s", "backend", closed["ratio_to_backend"], CLOSED_VS_BACKEND, "closed"),
    ]
    rows += [
        Row(loop, via, closed[f"{p}_ms"], f"ms {p}", target=CLOSED_P95_MS if p == "p95" else None, stage_row="closed")
        for p in ("p50", "p95", "p99")
    ]
    rows += [
        Row(loop, via, closed["failures"], "failed requests", target=ZERO, stage_row="closed"),
        Row(rate, via, opened["achieved_rate"], "req/s achieved", stage_row="open"),
        Row(rate, via, opened["p95_ms"], "ms p95 from schedule", target=OPEN_P95_MS, stage_row="open"),
        Row(rate, via, opened["errors"], "non-201 answers", target=ZERO, stage_row="open"),
        Row(calm, slower, half["p95_ms"], "ms p95 from schedule", stage_row="open_half"),
        Row(calm, slower, half["errors"], "non-201 answers", target=ZERO, stage_row="open_half"),
        Row("end to end: every 201 in the table", "orders table", audit["missing"], "orders missing", target=ZERO),
    ]
    return rows, report


FLOOR = ("warm CPU per invocation, X-Ray off", "floor: PutItem + SendMessage")
"""The row whose figure the stage's CPU per order is counted in: the floor's warm CPU, X-Ray off (us)."""


def stage_cpu(rows: list[Row], closed: dict[str, Any]) -> list[Row]:
    """The closed loop's CPU per order, everything on the stage, and its multiple of the floor's warm CPU.

    Both are CPU time on this machine in this run, so their ratio is judged (``STAGE_CPU_VS_FLOOR``);
    the milliseconds move with the VM's speed from day to day. None without the floor's row or
    the closed loop's CPU (a section skipped).
    """
    floor_us = [row.value for row in rows if (row.measure, row.variant) == FLOOR]
    loop = [row.measure for row in rows if row.stage_row == "closed"]
    cpu = closed.get("cpu") or {}
    if not floor_us or not loop or "cpu_ms_per_order" not in cpu:
        return []
    cpu_ms = float(cpu["cpu_ms_per_order"])
    ratio = round(cpu_ms / (floor_us[0] / 1000), 2)
    return [Row(loop[0], "the stage's CPU per order", cpu_ms, "ms of CPU", "floor", ratio, STAGE_CPU_VS_FLOOR)]


def table(rows: list[Row], verdict: Verdict) -> str:
    """The rows as a fixed-width table, each target with its judgement (holds, fails, limited by ...)."""
    head = (f"{'measure':<42} {'variant':<30} {'value':>10} {'unit':<24} {'vs':<6} {'ratio':>6} {'target':<8} "
            f"{'verdict'}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        target = str(r.target) if r.target is not None else ""
        judgement = verdict.of(r)
        column = judgement.column if judgement is not None else ""
        lines.append(f"{r.measure:<42} {r.variant:<30} {r.value:>10} {r.unit:<24} {r.reference:<6} {ratio:>6} "
                     f"{target:<8} {column}".rstrip())  # fmt: skip
    return "\n".join(lines)


def row_json(row: Row, verdict: Verdict) -> dict[str, Any]:
    """A row as written to the JSON: its fields, its target as printed and as data, its judgement."""
    judgement = verdict.of(row)
    judged = None if judgement is None else {f: getattr(judgement, f) for f in ("outcome", "fails_run", "why", "limit")}
    return asdict(row) | {
        "target": str(row.target) if row.target is not None else "",
        "target_spec": asdict(row.target) if row.target is not None else None,
        "judgement": judged,
    }


def parser() -> argparse.ArgumentParser:
    """The suite's options: counts, the end-to-end rows, where the JSON goes, the smoke run."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--cold-runs", type=int, default=15)
    options.add_argument("--invocations", type=int, default=5000)
    options.add_argument("--memory-invocations", type=int, default=10_000)
    options.add_argument("--no-e2e", action="store_true", help="skip the local stage rows (about 3 minutes)")
    options.add_argument("--no-cpu-share", action="store_true", help="skip the CPU share rows (Linux control groups)")
    options.add_argument("--no-snapstart", action="store_true", help="skip the SnapStart rows (about 10 s)")
    options.add_argument("--json", type=Path, default=None)
    options.add_argument("--smoke", action="store_true", help="tiny counts: checks the suite runs, measures nothing")
    options.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="judge this run's rows against an earlier run's JSON",
    )
    options.add_argument("--strict", action="store_true", help="with --baseline: refuse a run of another machine")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table and the verdict, write the JSON.

    Returns:
        The verdict's exit code: 0 when no target failed the run, else 1.
    """
    args = parser().parse_args(argv)
    if args.smoke:
        args.cold_runs, args.invocations, args.memory_invocations = 1, 20, 30
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        rows += cold_start(args.cold_runs, Path(scratch))
        rows += warm_cpu(args.invocations, Path(scratch), rounds=1 if args.smoke else WARM_ROUNDS)
        rows += memory(args.memory_invocations, Path(scratch))
    if not args.no_snapstart:
        rows += snapstart.section(args.smoke)
    e2e: dict[str, Any] = {}
    if not args.no_e2e:
        e2e_rows, e2e = end_to_end(args.smoke)
        rows += e2e_rows
        rows += stage_cpu(rows, e2e["closed"])
    share: dict[str, Any] = {}
    if not args.no_cpu_share:
        share_rows, share = cpu_share.section(args.smoke)
        rows += share_rows
    bottlenecks = e2e.get("bottleneck", {})
    verdict = judge(rows, {**bottlenecks, **share.get("bottleneck", {})}, smoke=args.smoke)
    print(table(rows, verdict))
    for row, limit in bottlenecks.items():
        print(f"end to end, {row}: limited by {limit['verdict']}")
    for limit in share.get("bottleneck", {}).values():
        print(f"cpu share: {'limited by ' if limit['limit'] != NOT_SATURATED else ''}{limit['verdict']}")
    if "off" in share:
        print(f"cpu share: not measured: {share['off']}")
    print("\n".join(["", *verdict.lines()]))
    target = args.json or bench_report()
    target.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}
    document = {
        "machine": machine,
        "smoke": args.smoke,
        "rows": [row_json(r, verdict) for r in rows],
        "verdict": {"passed": verdict.passed, "failures": [j.row.name for j in verdict.failures]},
        "e2e": e2e,
        "cpu_share": share,
    }
    target.write_text(json.dumps(document, indent=1))
    print(f"\nwritten: {target}")
    if args.baseline is None:
        return verdict.exit_code
    return against_baseline(baseline.load(args.baseline), document | {"name": target.name}, verdict, strict=args.strict)


def against_baseline(base: dict[str, Any], new: dict[str, Any], verdict: Verdict, *, strict: bool) -> int:
    """This run's rows judged against ``base``'s, printed; the exit status.

    The targets stay the first judge: a run that fails one exits 1 whatever the comparison. Then
    1 on a regression, 2 when ``strict`` refuses another machine's run, else 0.
    """
    comparison = baseline.judge(base, new)
    if strict and comparison.unlike:
        differences = "; ".join(difference.line() for difference in comparison.unlike)
        print(f"\nbaseline: refused under --strict, the runs differ in {differences}")
        return verdict.exit_code or REFUSED
    print("\n" + compare_table.text(comparison))
    return verdict.exit_code or (REGRESSED if comparison.regressions else NO_REGRESSION)


if __name__ == "__main__":
    sys.exit(main())
