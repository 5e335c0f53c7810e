"""``python -m localstage`` as a person runs it: its banner names allotment, interpreter, SnapStart; Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from harness.processes import wait_or_kill

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = "Ctrl-C stops the stage."


def _banner(process: subprocess.Popen[str], timeout_s: float = 120.0) -> list[str]:
    """The stage's lines up to its last one (read by a thread as they come, waited for up to ``timeout_s``)."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stdout:
            lines.append(line.rstrip("\n"))
            if lines[-1] == LAST_LINE:
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout_s)
    return list(lines)


def test_the_banner_names_memory_cpu_model_interpreter_and_snapstart_and_ctrl_c_stops_the_stage(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localstage",
            "--concurrency",
            "2",
            "--memory-size",
            "512",
            "--cpu-model",
            "host",
            "--snapstart",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        lines = _banner(process)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        wait_or_kill(process, 5)
        process.stdout.close()

    assert LAST_LINE in lines, lines
    named = {line.split(maxsplit=1)[0]: line for line in lines if line and not line.startswith(" ")}
    assert named["memory"].startswith("memory         512 MB")
    assert named["cpu"].startswith("cpu model      host: environments take what the host gives (asked for")
    assert "python3.14" in named["interpreter"]
    assert f"CPython {sys.version_info[0]}.{sys.version_info[1]}" in named["interpreter"]
    # SnapStart on (--snapstart, the template's default off): how it is emulated, and the version published
    assert named["snapstart"].startswith("snapstart      on: one environment initialised at the start")
    assert "restored from it, a fork of its process" in named["snapstart"]
    assert named["snapshot"].startswith("snapshot       Active: its init took ")
    assert code == 0
