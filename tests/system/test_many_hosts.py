"""Locust's distributed mode across hosts: one master with the stage, workers elsewhere, one audit.

The hosts are Linux network namespaces joined by a veth pair, with addresses this test assigns:
the stage and the Locust master in one, two workers in the other, talking only over that link.
The merged ledger must hold every worker's attempts, each worker must have played only its own
customers, and the audit over it all must pass. A worker killed mid-run must leave the audit
incomplete, naming it, with its customers' requests unknown rather than lost.

Namespaces need iproute2's ``ip`` (found on PATH, the only tool here beyond the interpreter) and
root. Without them the first test skips on a developer's machine, saying why; where ``CI`` is set
it fails instead: CI has both, so a skip there would be a test that silently did not run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from harness.runfolder import LedgerFolder, RunFolder
from loadtests.ledger import read_ledgers
from loadtests.roster import Roster
from localstage.backend import free_port
from tests.support.ci import cannot_run

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "loadtests.run"]
SHORT = ["--users", "10", "--spawn-rate", "10", "--run-time", "10s", "--slo-p95-ms", "60000", "--worker-wait-s", "90"]
TIMEOUT_S = 240


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, timeout=30)  # noqa: S607


def _cannot_run(reason: str) -> NoReturn:
    """This machine cannot make the hosts: a failure in CI, which can, else a skip saying why."""
    cannot_run(reason, "the many-hosts test")


@contextmanager
def _two_hosts() -> Iterator[tuple[list[str], list[str], str]]:
    """Two namespaces on one link: (command prefix for the first, for the second, the first's address).

    Removed on exit, whatever happened. Where namespaces cannot be made: skips saying why, or in CI fails.
    """
    if shutil.which("ip") is None:
        _cannot_run("network namespaces need iproute2's ip, and there is none on PATH: the many-hosts test did not run")
    if os.geteuid() != 0:
        _cannot_run("network namespaces need root: the many-hosts test did not run")
    tag = f"co{os.getpid() % 100000}"
    first, second = f"{tag}-m", f"{tag}-w"
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    try:
        _ip("netns", "add", first)
    except subprocess.CalledProcessError as error:
        _cannot_run(f"cannot create a network namespace here: {error.stderr.decode().strip()}")
    try:
        _ip("netns", "add", second)
        _ip("link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b")
        _ip("link", "set", f"{tag}a", "netns", first)
        _ip("link", "set", f"{tag}b", "netns", second)
        for namespace, device, address in ((first, f"{tag}a", f"{subnet}.1"), (second, f"{tag}b", f"{subnet}.2")):
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", device)
            _ip("-n", namespace, "link", "set", device, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
        yield ["ip", "netns", "exec", first], ["ip", "netns", "exec", second], f"{subnet}.1"
    finally:
        for namespace in (first, second):
            subprocess.run(["ip", "netns", "delete", namespace], check=False, capture_output=True, timeout=30)  # noqa: S607


@contextmanager
def _started(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process of this test, stopped (its group, by pid) when the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)


def _run_folder(log: Path) -> Path:
    [line] = [line for line in log.read_text().splitlines() if line.startswith("run folder: ")]
    return Path(line.removeprefix("run folder: "))


def _master_and_workers(
    tmp_path: Path, master: list[str], worker: list[str], address: str, *, kill_one: bool = False
) -> tuple[int, Path]:
    port = str(free_port())
    roles = ["--master-bind-host", address, "--master-port", port, "--expect-workers", "2"]
    with ExitStack() as running:
        lead = running.enter_context(
            _started(
                [*master, *RUN, "--role", "master", "--stage-host", address, *roles, *SHORT], tmp_path / "master.log"
            )
        )
        workers = [
            running.enter_context(
                _started(
                    [*worker, *RUN, "--role", "worker", "--master-host", address, "--master-port", port],
                    tmp_path / f"worker-{n}.log",
                )
            )
            for n in range(2)
        ]
        if kill_one:
            _wait_until_both_ship(tmp_path / "master.log")
            os.killpg(workers[1].pid, signal.SIGKILL)  # a worker host goes away mid-run
        exit_code = lead.wait(timeout=TIMEOUT_S)
    return exit_code, _run_folder(tmp_path / "master.log")


def _wait_until_both_ship(master_log: Path, wait_s: float = 120) -> None:
    """Until both workers' first ledger lines reached the master (the run is under way)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        folders = [line.rsplit("(run folder ", 1)[1].rstrip(")") for line in master_log.read_text().splitlines()
                   if "(run folder " in line]  # fmt: skip
        if folders and all(RunFolder(Path(folders[0])).ledger.worker_ledger(n).exists() for n in (0, 1)):
            return
        time.sleep(0.5)
    pytest.fail(f"the workers shipped no ledger lines within {wait_s:g} s")


def _customers_by_ledger(ledger_dir: Path, roster: Roster) -> dict[int, set[str]]:
    played: dict[int, set[str]] = {}
    for index in roster.workers:
        path = LedgerFolder(ledger_dir).worker_ledger(index)
        lines = path.read_text().splitlines() if path.exists() else []
        played[index] = {json.loads(line)["customer_id"] for line in lines} - {None}
    return played


def _own(customers: set[str]) -> set[str]:
    return {c for c in customers if not c.endswith("-not-me")}  # intruders name someone else on purpose


def test_a_master_and_two_workers_on_separate_hosts_merge_their_ledgers_into_one_passing_audit(
    tmp_path: Path,
) -> None:
    with _two_hosts() as (master_host, worker_host, address):
        exit_code, run_dir = _master_and_workers(tmp_path, master_host, worker_host, address)

    assert exit_code == 0, (tmp_path / "master.log").read_text()[-3000:]
    stage = json.loads((run_dir / "stage.json").read_text())
    assert stage["orders_url"].startswith(f"http://{address}:")  # served on the link, not on loopback
    roster = Roster.load(run_dir / "ledger")
    assert roster is not None
    assert sorted(roster.workers) == [0, 1]
    assert all(entry.complete and entry.lines > 0 for entry in roster.workers.values())
    played = _customers_by_ledger(run_dir / "ledger", roster)
    for index, entry in roster.workers.items():
        assert _own(played[index]) <= set(entry.customers)  # each played only its own slice
    assert not set(roster.workers[0].customers) & set(roster.workers[1].customers)
    audit: dict[str, Any] = json.loads((run_dir / "audit.json").read_text())
    assert audit["passed"] is True
    assert audit["attempts"] == sum(entry.lines for entry in roster.workers.values())
    assert audit["attempts"] == len(read_ledgers(run_dir / "ledger"))


def test_a_worker_that_vanishes_leaves_the_audit_incomplete_naming_it(tmp_path: Path) -> None:
    # Over loopback: separate hosts are the first test's point, a vanishing worker this one's
    exit_code, run_dir = _master_and_workers(tmp_path, [], [], "127.0.0.1", kill_one=True)

    audit: dict[str, Any] = json.loads((run_dir / "audit.json").read_text())
    roster = Roster.load(run_dir / "ledger")
    assert roster is not None
    assert exit_code == 1
    assert audit["passed"] is False
    [incomplete] = audit["incomplete_workers"]
    [gone] = roster.incomplete
    assert incomplete.startswith(f"worker {gone.index} ({gone.client_id}): ")
    assert 0 < audit["unknown"] <= gone.lines  # what arrived of its customers' requests is unknown, not judged
    for invariant in ("lost", "unrequested", "unqueued", "wrong_status"):
        assert audit[invariant] == 0, invariant  # never counted as lost, nor as anything else
