"""The local stage driven from Locust's web UI instead of headless, then audited, as the README says.

Start the stage, start Locust with its web UI on the stage's file, post a swarm as the UI's
Start button does, stop it, quit Locust, and run the audit: the orders the swarm placed are all
there and the audit passes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.audit.folder import audit_stage
from loadtests.ledger import read_ledgers
from localstage.backend import free_port
from localstage.local import LocalStage

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 60.0


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[LocalStage]:
    with LocalStage(tmp_path / "run", concurrency=2, customers=3) as running:
        yield running


def _until(check: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} within {WAIT_S:g} s")


def test_a_swarm_started_from_the_web_ui_is_audited_clean(stage: LocalStage, tmp_path: Path) -> None:
    info = stage.describe()
    run_dir = Path(info["run_dir"])
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--stage-file", str(run_dir / "stage.json"),
        "--host", info["url"], "--web-host", "127.0.0.1", "--web-port", str(port),
    ]  # fmt: skip
    with (tmp_path / "locust.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            # When the UI is up and a person presses Start with 3 users
            _until(lambda: urllib.request.urlopen(ui, timeout=5).status == 200, "the web UI did not answer")
            form = urllib.parse.urlencode({"user_count": 3, "spawn_rate": 3, "host": info["url"]}).encode()
            with urllib.request.urlopen(f"{ui}/swarm", data=form, timeout=10) as answer:  # noqa: S310 - loopback
                assert json.loads(answer.read())["success"] is True
            _until(lambda: sum(a["status"] == 201 for a in read_ledgers(run_dir / "ledger")) >= 3,
                   "the swarm placed no 3 orders")  # fmt: skip
            # ... then Stop, and quits Locust (its ledger closes)
            urllib.request.urlopen(f"{ui}/stop", data=b"", timeout=60).close()  # noqa: S310 - a POST, on loopback
        finally:
            if locust.poll() is None:
                os.kill(locust.pid, signal.SIGTERM)
            locust.wait(timeout=60)
    assert stage.consumer is not None
    stage.consumer.drain()

    # Then the audit of what the swarm did passes
    report = audit_stage(run_dir, info["physical"])
    assert report.passed, report.table()
    assert report.created >= 3
