"""The stage's side of a SnapStart snapshot: its control channel, and the environments restored from it.

The snapshot is one environment's process (``localstage.snapshot`` inside it) that became the
snapshot at its runtime's ``restore/next``: it forks a restored environment for each order the
stage sends over a Unix socket, answers with the child's pid, and reports each child's end. The
worker pool (``localstage.workers``) starts it and writes Lambda's records; this module keeps the
channel (:class:`SnapshotChannel`) and gives each restored environment a process handle
(:class:`RestoredProcess`) with the interface the pool uses of a ``subprocess.Popen``, though the
process is the snapshot's child, not the stage's: its end is what the snapshot reports.

One thread per stage reads the channel; an order is sent by the thread that needs the environment
and waits for its answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localstage.snapshot import CONTROL_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CONTROL_VARIABLE", "RestoredProcess", "SnapshotChannel", "SnapshotGoneError"]

ORDER_TIMEOUT_S = 10.0
"""How long a restore order waits for the snapshot's answer (a fork: milliseconds)."""


def state_line(state: dict[str, Any]) -> str:
    """The SnapStart version's state after its publish (``WorkerPool.snapstart``), as Lambda has it, in words."""
    if state["state"] == "Active":
        return (
            f"Active: its init took {state['init_ms']:.0f} ms (INIT_REPORT in the first environment's log), "
            f"the snapshot is pid {state['snapshot_pid']}"
        )
    return f"{state['state']} ({state.get('state_reason_code')}): {state.get('state_reason')}; every request gets it"


class SnapshotGoneError(RuntimeError):
    """The snapshot is gone (or never came): no environment can be restored from it."""


class RestoredProcess:
    """A restored environment's process: the snapshot's child, its end as the snapshot reports it.

    ``poll``, ``wait``, ``terminate``, ``kill``, ``pid`` and ``returncode`` as ``subprocess.Popen``
    has them; signals go to the pid only while no end has been reported for it.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.args = f"environment restored as pid {pid}"
        self._returncode: int | None = None
        self._ended = threading.Event()

    @property
    def returncode(self) -> int | None:
        """How it ended, as ``subprocess`` gives it (negative: the signal); ``None`` while it runs."""
        return self._returncode

    def poll(self) -> int | None:
        """Its return code once the snapshot reported its end, else ``None``."""
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait (up to ``timeout`` seconds) for the snapshot to report its end; its return code.

        Raises:
            subprocess.TimeoutExpired: no end was reported in time.
        """
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return self._returncode if self._returncode is not None else 0

    def terminate(self) -> None:
        """SIGTERM, unless it has ended."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, unless it has ended."""
        self._signal(signal.SIGKILL)

    def _signal(self, number: signal.Signals) -> None:
        if self._returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def ended(self, returncode: int) -> None:
        """The snapshot reported its end (or the channel's reader decided it)."""
        if self._returncode is None:
            self._returncode = returncode
        self._ended.set()


class _Answer:
    """One order's answer: the restored process, or why there is none."""

    def __init__(self) -> None:
        self.process: RestoredProcess | None = None
        self.error: str | None = None
        self.done = threading.Event()


class SnapshotChannel:
    """The stage's end of the control channel: a Unix socket in a folder of its own, made before the snapshot starts.

    ``path`` goes to the snapshot in :data:`CONTROL_VARIABLE`; :meth:`connect` takes its
    connection once its init is over; :meth:`restore` orders an environment; :meth:`close` ends
    the snapshot (closing the channel is its signal to kill what it still runs and exit) and
    removes the folder.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="localstage-snapshot-"))
        self.path = str(self.directory / "control")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1)
        self._socket: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._answers: dict[int, _Answer] = {}
        self._processes: dict[int, RestoredProcess] = {}
        self.pid: int | None = None
        """The snapshot's pid, as it said when it connected."""
        self.gone = False
        """Whether the snapshot has gone (its channel closed): no more restores."""
        self._closing = False

    def connect(self, deadline: float, alive: Callable[[], bool]) -> None:
        """Take the snapshot's connection (waiting up to ``deadline`` while ``alive``), then read it on a thread.

        Raises:
            SnapshotGoneError: the snapshot exited, or did not connect in time.
        """
        while True:
            ready, _, _ = select.select([self._listener], [], [], 0.05)
            if ready:
                break
            if not alive() or time.monotonic() > deadline:
                raise SnapshotGoneError("the snapshot never connected to its control channel")
        connection, _ = self._listener.accept()
        connection.settimeout(max(0.1, deadline - time.monotonic()))
        hello = b""
        try:
            while not hello.endswith(b"\n"):
                data = connection.recv(256)
                if not data:
                    raise SnapshotGoneError("the snapshot closed its control channel at once")
                hello += data
        except OSError as error:
            connection.close()
            raise SnapshotGoneError(f"the snapshot did not say who it is ({error})") from error
        connection.settimeout(None)
        self.pid = int(json.loads(hello)["snapshot"])
        self._socket = connection
        self._reader = threading.Thread(target=self._read, name="snapshot-channel", daemon=True)
        self._reader.start()

    def restore(self, order: dict[str, Any], timeout_s: float = ORDER_TIMEOUT_S) -> RestoredProcess:
        """Send one restore order (``order["restore"]``: the environment's index) and wait for its process.

        Raises:
            SnapshotGoneError: the snapshot is gone, could not fork, or did not answer in time.
        """
        index = int(order["restore"])
        answer = _Answer()
        with self._lock:
            if self.gone or self._socket is None:
                raise SnapshotGoneError("the snapshot is gone: no environment can be restored from it")
            self._answers[index] = answer
            try:
                self._socket.sendall(json.dumps(order, separators=(",", ":")).encode() + b"\n")
            except OSError as error:
                self._answers.pop(index, None)
                raise SnapshotGoneError(f"the snapshot's channel is closed ({error})") from error
        if not answer.done.wait(timeout_s):
            with self._lock:
                self._answers.pop(index, None)
            raise SnapshotGoneError(f"the snapshot did not answer restore order {index} within {timeout_s:g} s")
        if answer.process is None:
            raise SnapshotGoneError(f"the snapshot could not restore environment {index}: {answer.error}")
        return answer.process

    @property
    def restored(self) -> list[RestoredProcess]:
        """The restored environments whose end has not been reported."""
        with self._lock:
            return list(self._processes.values())

    def _read(self) -> None:
        pending = b""
        try:
            while self._socket is not None:
                data = self._socket.recv(1 << 16)
                if not data:
                    break
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self._message(json.loads(line))
        except (OSError, ValueError):
            pass
        finally:
            self._gone()

    def _message(self, message: dict[str, Any]) -> None:
        with self._lock:
            if "restored" in message:
                process = RestoredProcess(int(message["pid"]))
                self._processes[process.pid] = process
                answer = self._answers.pop(int(message["restored"]), None)
                if answer is None:  # its orderer gave up waiting: the environment is no one's
                    process.kill()
                    return
                answer.process = process
                answer.done.set()
            elif "failed" in message:
                answer = self._answers.pop(int(message["failed"]), None)
                if answer is not None:
                    answer.error = str(message.get("error"))
                    answer.done.set()
            elif "exited" in message:
                ended = self._processes.pop(int(message["exited"]), None)
                if ended is not None:
                    ended.ended(int(message["returncode"]))

    def _gone(self) -> None:
        """The channel closed: the snapshot is gone, and its children left with it.

        Closed by the stage, the snapshot kills and reaps them itself. Gone on its own (killed,
        crashed), it leaves them running and unwatched: they are killed here.
        """
        with self._lock:
            self.gone = True
            left = list(self._processes.values())
            self._processes.clear()
            answers = list(self._answers.values())
            self._answers.clear()
            closing = self._closing
        for process in left:
            if not closing:
                process.kill()
            process.ended(-signal.SIGKILL)
        for answer in answers:
            answer.error = "the snapshot is gone"
            answer.done.set()

    def close(self) -> None:
        """Close the channel (the snapshot kills its children left, reaps them and exits) and remove its folder."""
        with self._lock:
            self._closing = True
            connection, self._socket = self._socket, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._listener.close()
        if self._reader is not None:
            self._reader.join(5)
        self._gone()
        shutil.rmtree(self.directory, ignore_errors=True)
