"""A SnapStart snapshot inside an environment: the process that becomes the snapshot, and each one restored from it.

On Lambda with SnapStart an environment is initialised once, when a version is published
(``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``); the runtime client runs the before-snapshot hooks
and calls ``GET /2018-06-01/runtime/restore/next``, and Lambda snapshots the microVM there. Each
new environment resumes from the snapshot: its ``restore/next`` returns, the runtime client runs
the after-restore hooks and asks for its first event. The local stage makes the snapshot a process
and each restore an ``os.fork()`` of it:

- :func:`install` (run by ``python -m localstage.runtime_bootstrap --snapshot`` before the runtime
  client starts, as an exec wrapper would) wraps awslambdaric's ``restore_next``. Called after the
  init and the before-snapshot hooks, the wrapper calls the real one against the environment's own
  Runtime API (the stage hears ``restore/next``: the init is over, the snapshot taken), then does
  not return in this process: it connects to the stage's control channel (a Unix socket, its path
  in :data:`CONTROL_VARIABLE`) and serves restore orders (:func:`serve`).
- Each order: ``os.fork()``. The snapshot answers with the child's pid and serves on; it reaps its
  children and reports each end (pid, and the return code as ``subprocess`` gives one: negative for
  a signal), so the stage can tell an OOM kill from a crash as it does for its own children.
- The child is the restored environment (:func:`become`): it takes the order's Runtime API address
  (``AWS_LAMBDA_RUNTIME_API`` and the runtime client's), writes its pid into its control groups'
  ``cgroup.procs`` before going on, points stdout and stderr at its own log, loads a fresh copy of
  the runtime client's native module (which reads its endpoint once, when loaded), then calls the
  real ``restore_next`` against its own Runtime API and returns: awslambdaric runs the
  after-restore hooks and serves invocations.

The channel, one JSON object a line each way. From the snapshot: ``{"snapshot": PID}`` once
connected, ``{"restored": INDEX, "pid": PID}`` or ``{"failed": INDEX, "error": TEXT}`` per order,
``{"exited": PID, "returncode": CODE}`` per child reaped. From the stage: ``{"restore": INDEX,
"runtime_api": "HOST:PORT", "log": PATH, "procs": [PATH, ...], "variables": {NAME: VALUE}}``. The
stage closing the channel ends the snapshot: its children still running are killed and reaped first.

What a fork is not, against a microVM snapshot:

- memory: a fork shares the snapshot's pages copy-on-write; :func:`own_memory` copies the private
  anonymous ones (the heap, the allocator's arenas) in the restore, so they are the restored
  environment's and charged to its control group, as a microVM's memory is its own; the
  mapped files (the interpreter, the modules' shared objects) stay shared, as page cache;
- file descriptors are inherited: whatever the init left open (a socket included) is the same open
  file in every restored environment, as on Lambda a socket in a snapshot is one endpoint shared by
  every environment restored from it;
- Python's ``random`` module reseeds its global instance in a forked child (``os.register_at_fork``),
  which a real restore does not (every environment resumes with the snapshot's state): the
  function must not rely on the global instance being reseeded, and must reseed what it needs
  unique after a restore (a ``random.Random`` of its own is not reseeded by either);
- threads do not survive a fork: a thread the init started is gone in every restored environment
  (on Lambda it resumes with the rest);
- speed: a fork fetches no snapshot, so a restore here costs the fork, the child's set-up and the
  after-restore hooks, far less than Lambda's (hundreds of milliseconds in its published REPORTs).

Standard library only, beside the runtime client: it runs in the environment.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

CONTROL_VARIABLE = "LOCALSTAGE_SNAPSHOT_CONTROL"
"""The variable that gives the snapshot the path of the stage's control channel (a Unix socket)."""
RUNTIME_API_VARIABLE = "AWS_LAMBDA_RUNTIME_API"
NATIVE_CLIENT = "runtime_client"
"""The runtime client's native module: its endpoint is ``AWS_LAMBDA_RUNTIME_API`` as it was when it was loaded."""

_CLIENT_MODULE = "awslambdaric.lambda_runtime_client"
"""The runtime client's module that holds its Runtime API client (and the native module it calls)."""

Order = dict[str, Any]


def install() -> None:
    """Make awslambdaric's ``restore_next`` the snapshot point (before the runtime client starts)."""
    client_class = importlib.import_module(_CLIENT_MODULE).BaseLambdaRuntimeClient
    original = client_class.restore_next

    def restore_next(client: Any) -> None:
        original(client)  # the stage hears the snapshot's restore/next: its init is over
        order = serve(os.environ[CONTROL_VARIABLE])  # returns only in a restored environment
        become(order, client)
        original(client)  # the restored runtime's own restore/next: it resumes

    client_class.restore_next = restore_next


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    channel.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")


def _native_copy(directory: str) -> str | None:
    """A copy of the runtime client's native module beside the channel, for restored environments to load afresh.

    A copy, not the file itself: a shared object already loaded is not loaded again from the
    same file, and the copy's static endpoint must be read in the restored environment.
    """
    native = sys.modules.get(NATIVE_CLIENT)
    source = getattr(native, "__file__", None)
    if source is None:
        return None
    copy = os.path.join(directory, f"{NATIVE_CLIENT}-{os.getpid()}{os.path.splitext(source)[1]}")
    shutil.copyfile(source, copy)
    return copy


def serve(control: str) -> Order:
    """Be the snapshot: serve restore orders from the stage at ``control`` until it closes the channel.

    Returns only in a forked child: the order it is to become. The snapshot itself exits when the
    stage closes the channel, its children killed and reaped first.
    """
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    channel.connect(control)
    native = _native_copy(os.path.dirname(control))
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd hears each child end
    signal.set_wakeup_fd(wake_write)
    # Its end is the stage's to decide (it closes the channel): a Ctrl-C at a terminal, sent to the whole
    # process group, stops the stage, which stops the snapshot in turn.
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    children: set[int] = set()
    try:
        return _serve(channel, wake=(wake_read, wake_write), native=native, interrupt=interrupt, children=children)
    except OSError:  # the stage is gone without closing the channel: the same end
        _end(children)
        raise


def _serve(
    channel: socket.socket, *, wake: tuple[int, int], native: str | None, interrupt: Any, children: set[int]
) -> Order:
    """The snapshot's loop: each order forked, each child's end reported; returns in a child, its order."""
    wake_read, wake_write = wake
    pending = b""
    _send(channel, {"snapshot": os.getpid()})
    while True:
        ready, _, _ = select.select([channel.fileno(), wake_read], [], [])
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 512):
                    pass
            _reap(channel, children)
        if channel.fileno() not in ready:
            continue
        data = channel.recv(1 << 16)
        if not data:
            _end(children)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            order: Order = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                pid = os.fork()
            except OSError as error:
                _send(channel, {"failed": order["restore"], "error": str(error)})
                continue
            if pid == 0:
                # The restored environment: none of the snapshot's serving state comes with it.
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, interrupt)
                os.close(wake_read)
                os.close(wake_write)
                channel.close()
                order["native"] = native
                return order
            children.add(pid)
            _send(channel, {"restored": order["restore"], "pid": pid})


def _reap(channel: socket.socket, children: set[int]) -> None:
    """Reap every child that ended and report each: its pid and return code (negative: the signal that ended it)."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(channel, {"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})


def _end(children: set[int]) -> NoReturn:
    """The stage closed the channel: kill the children left, reap them, and exit."""
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os._exit(0)


def become(order: Order, client: Any) -> None:
    """Make this forked child the environment ``order`` restores: its Runtime API, groups, log and variables.

    In that order: the Runtime API first, so that even a failure of what follows is reported to
    the environment's own endpoint; the control groups next, before the child touches memory of
    its own.
    """
    address = str(order["runtime_api"])
    client.lambda_runtime_address = address
    os.environ[RUNTIME_API_VARIABLE] = address
    pid = str(os.getpid())
    for procs in order.get("procs", []):
        # One write(2): a control file takes each write as one whole setting.
        descriptor = os.open(procs, os.O_WRONLY)
        try:
            os.write(descriptor, pid.encode())
        finally:
            os.close(descriptor)
    log = os.open(order["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.pop(CONTROL_VARIABLE, None)
    os.environ.update({str(name): str(value) for name, value in order.get("variables", {}).items()})
    if order.get("native"):
        _load_native_client(str(order["native"]))
    own_memory()


MADV_POPULATE_WRITE = 23
"""madvise(2) advice (Linux 5.14 and later): fault a range in writable now; for a private mapping, its copy done."""


def own_memory() -> int:
    """Copy the snapshot's private memory into this restored environment now; the bytes made its own.

    A microVM restored from a snapshot has its memory to itself. A fork shares the snapshot's
    pages until each is first written, and a Python process writes to almost every object it
    touches (reference counts), so each first touch would be a page copy inside an invocation,
    and the pages would stay charged to the snapshot's control group. Faulting in every private
    writable anonymous mapping (the heap, the allocator's arenas) now does the copies in the
    restore, counted in its Restore Duration, and charges the memory to this environment's group.
    On a kernel without the advice (before 5.14) nothing is copied ahead and the pages are
    copied as they are written.
    """
    import ctypes  # noqa: PLC0415 - a restored environment's only use of it

    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    owned = 0
    with Path("/proc/self/maps").open() as maps:
        for line in maps:
            fields = line.split()
            anonymous = len(fields) == 5 or fields[5] == "[heap]"  # five fields: no path, an anonymous mapping
            if not (fields[1].startswith("rw") and fields[1].endswith("p") and anonymous):
                continue
            start, end = (int(address, 16) for address in fields[0].split("-"))
            if libc.madvise(start, end - start, MADV_POPULATE_WRITE) == 0:
                owned += end - start
    return owned


def _load_native_client(path: str) -> None:
    """Load the runtime client's native module afresh from ``path``: its endpoint is now this environment's."""
    lambda_runtime_client: Any = importlib.import_module(_CLIENT_MODULE)
    loader = importlib.machinery.ExtensionFileLoader(NATIVE_CLIENT, path)
    spec = importlib.util.spec_from_file_location(NATIVE_CLIENT, path, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load the runtime client's native module from {path}")
    native: Any = importlib.util.module_from_spec(spec)
    loader.exec_module(native)
    native.initialize_client(lambda_runtime_client._user_agent())  # the runtime client's own agent
    lambda_runtime_client.runtime_client = native
