"""Power tuning on the local stage: the same load at each memory size, one table, a recommended size.

    python -m loadtests.tune --memory 128,256,512,1024,1769,3008 [--users 100] [--run-time 30s]
                             [--strategy cost|speed|balanced] [--balanced-weight 0.5] [--cpu-model lambda]

For each size the main job runs as ``tox -e load`` runs it (``loadtests.run``: a fresh local stage
at that ``--memory-size`` under the Lambda CPU model, Locust, the SLO gate, the audit, the run's
cost from its own consumption), each in its own run folder. The sweep's folder
(``reports/<time>-tune/``) gets ``tune.json``, ``tune.md`` (the table) and ``tune.png`` (cost
and p95 against memory). The recommendation is chosen, as AWS Lambda Power Tuning names its
strategies, among the sizes whose run passed its SLO and its audit: ``cost`` the cheapest per
million orders, ``speed`` the shortest billed duration per invocation, ``balanced`` the least
``weight * cost / the most costly + (1 - weight) * duration / the longest``. Ties go to the
smaller size.

The local figures are the stage's: CPU in proportion to memory as Lambda gives it (one vCPU at
1,769 MB), on this host's cores, whose speed is not Lambda's; the what-if of a deployed stack is
the place to confirm a choice before changing the template's ``MemorySize``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.runfolder import RunFolder
from localstage.allotment import memory_size

STRATEGIES = ("cost", "speed", "balanced")
ROOT = Path(__file__).resolve().parents[1]
RUN_FOLDER = re.compile(r"^run folder: (?P<path>\S+)$", re.MULTILINE)
"""The main job's last line: where it left the run."""


@dataclass(frozen=True)
class SizeResult:
    """One memory size's run, as the table shows it."""

    memory_mb: int
    run_dir: str
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cold_starts: int
    billed_ms_per_invocation: float | None
    cost_per_million_orders: float | None
    slo_passed: bool
    audit_passed: bool

    @property
    def eligible(self) -> bool:
        """Whether the size may be recommended: its run passed the SLO and the audit, and was priced."""
        return self.slo_passed and self.audit_passed and self.cost_per_million_orders is not None


def result_of(memory_mb: int, run_dir: Path) -> SizeResult:
    """One size's figures from its run folder's ``summary.json``."""
    summary: dict[str, Any] = json.loads(RunFolder(run_dir).summary.read_text())
    create = summary.get("create order") or {}
    cost = summary.get("cost") or {}
    used = cost.get("consumption") or {}
    invocations = used.get("invocations") or 0
    billed = used.get("billed_ms", 0) / invocations if invocations else None
    return SizeResult(
        memory_mb=memory_mb,
        run_dir=str(run_dir),
        p50_ms=create.get("p50_ms"),
        p95_ms=create.get("p95_ms"),
        p99_ms=create.get("p99_ms"),
        cold_starts=int(summary.get("cold_starts", 0)),
        billed_ms_per_invocation=round(billed, 2) if billed is not None else None,
        cost_per_million_orders=cost.get("per_million_orders"),
        slo_passed=bool((summary.get("slo") or {}).get("passed")),
        audit_passed=bool(summary.get("audit_passed")),
    )


def recommend(results: list[SizeResult], strategy: str, weight: float = 0.5) -> SizeResult | None:
    """The size ``strategy`` chooses among the eligible ones; None when no size is eligible."""
    eligible = [r for r in results if r.eligible and r.billed_ms_per_invocation is not None]
    if not eligible:
        return None
    if strategy == "cost":
        return min(eligible, key=lambda r: (r.cost_per_million_orders, r.memory_mb))
    if strategy == "speed":
        return min(eligible, key=lambda r: (r.billed_ms_per_invocation, r.memory_mb))
    if strategy != "balanced":
        raise ValueError(f"a strategy is one of {', '.join(STRATEGIES)}, not {strategy!r}")
    most_cost = max(float(r.cost_per_million_orders or 0) for r in eligible) or 1.0
    longest = max(float(r.billed_ms_per_invocation or 0) for r in eligible) or 1.0

    def score(r: SizeResult) -> tuple[float, int]:
        cost, duration = float(r.cost_per_million_orders or 0), float(r.billed_ms_per_invocation or 0)
        return weight * cost / most_cost + (1 - weight) * duration / longest, r.memory_mb

    return min(eligible, key=score)


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(results: list[SizeResult], chosen: SizeResult | None, strategy: str) -> str:
    """The sweep as a Markdown table, then the recommendation."""
    lines = [
        "| memory MB | p50 ms | p95 ms | p99 ms | cold starts | billed ms / invocation | USD / million orders "
        "| SLO | audit |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {r.memory_mb} | {_cell(r.p50_ms, '.0f')} | {_cell(r.p95_ms, '.0f')} | {_cell(r.p99_ms, '.0f')} | "
        f"{r.cold_starts} | {_cell(r.billed_ms_per_invocation, '.1f')} | {_cell(r.cost_per_million_orders, ',.2f')} | "
        f"{'PASS' if r.slo_passed else 'FAIL'} | {'PASS' if r.audit_passed else 'FAIL'} |"
        for r in results
    ]
    if chosen is None:
        lines.append(f"\nstrategy {strategy}: no size passed its SLO and its audit; nothing to recommend")
    else:
        cost, billed = chosen.cost_per_million_orders or 0.0, chosen.billed_ms_per_invocation or 0.0
        lines.append(
            f"\nstrategy {strategy}: {chosen.memory_mb} MB (USD {cost:,.2f} per million orders, "
            f"{billed:.1f} billed ms an invocation, p95 {_cell(chosen.p95_ms, '.0f')} ms)"
        )
    return "\n".join(lines)


def chart(results: list[SizeResult], path: Path) -> None:
    """Cost per million orders and p95 against memory, on one picture."""
    import matplotlib as mpl  # noqa: PLC0415 - the picture's dependency only when a sweep draws it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = [r.memory_mb for r in results]
    figure, cost_axis = plt.subplots(figsize=(8, 4.5))
    costs = [r.cost_per_million_orders if r.cost_per_million_orders is not None else float("nan") for r in results]
    p95s = [r.p95_ms if r.p95_ms is not None else float("nan") for r in results]
    cost_axis.plot(sizes, costs, "o-", color="#1f77b4", label="USD per million orders")
    cost_axis.set_xscale("log", base=2)
    cost_axis.set_xticks(sizes, [str(s) for s in sizes])
    cost_axis.set_xlabel("memory size, MB")
    cost_axis.set_ylabel("USD per million orders", color="#1f77b4")
    p95_axis = cost_axis.twinx()
    p95_axis.plot(sizes, p95s, "s--", color="#d62728", label="create order p95")
    p95_axis.set_ylabel("create order p95, ms", color="#d62728")
    cost_axis.set_title("Power tuning on the local stage (Lambda CPU model)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _memory_list(text: str) -> list[int]:
    sizes = [memory_size(int(part)) for part in text.split(",") if part.strip()]
    if len(sizes) != len(set(sizes)) or not sizes:
        raise argparse.ArgumentTypeError(f"memory sizes, each once: {text!r}")
    return sorted(sizes)


def parser() -> argparse.ArgumentParser:
    """The sweep's options."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--memory", type=_memory_list, default=_memory_list("128,256,512,1024,1769,3008"))
    options.add_argument("--users", type=int, default=100)
    options.add_argument("--run-time", default="30s")
    options.add_argument("--strategy", choices=STRATEGIES, default="balanced")
    options.add_argument("--balanced-weight", type=float, default=0.5, help="balanced: the weight of cost (0-1)")
    options.add_argument("--cpu-model", choices=("lambda", "host"), default="lambda")
    return options


def run_size(memory_mb: int, args: argparse.Namespace) -> Path:
    """The main job at ``memory_mb``; its run folder (its output goes to this one's)."""
    command = [sys.executable, "-m", "loadtests.run", "--memory-size", str(memory_mb), "--cpu-model", args.cpu_model,
               "--users", str(args.users), "--run-time", args.run_time]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    sys.stdout.write(done.stdout[-2000:])
    found = RUN_FOLDER.search(done.stdout)
    if found is None:
        raise RuntimeError(
            f"the main job at {memory_mb} MB left no run folder (exit {done.returncode}): {done.stderr[-500:]}"
        )
    return Path(found["path"])


def main(argv: list[str] | None = None) -> int:
    """Run the sweep, print the table and the recommendation; 0 when a size is recommended, 1 when none is."""
    args = parser().parse_args(argv)
    folder = RunFolder.new("tune")
    results = []
    for size in args.memory:
        print(f"--- {size} MB", flush=True)
        results.append(result_of(size, run_size(size, args)))
    chosen = recommend(results, args.strategy, args.balanced_weight)
    text = table(results, chosen, args.strategy)
    (folder.path / "tune.md").write_text(text + "\n")
    document = {"strategy": args.strategy, "weight": args.balanced_weight, "cpu_model": args.cpu_model,
                "users": args.users, "run_time": args.run_time, "sizes": [asdict(r) for r in results],
                "recommended_mb": chosen.memory_mb if chosen else None}  # fmt: skip
    (folder.path / "tune.json").write_text(json.dumps(document, indent=2))
    chart(results, folder.path / "tune.png")
    print(text)
    print(f"sweep folder: {folder.path}")
    return 0 if chosen is not None else 1


if __name__ == "__main__":
    sys.exit(main())
