"""Locust users for the benchmark's closed loop: valid orders only, no think time, one measured window.

The users are the main job's customers (``loadtests/users.py``: Cognito login in
``on_start``, a valid order of 1-3 active products with a fresh ``Idempotency-Key``, retried
with that key after a 429, 5xx or lost connection, every attempt in the ledger), with the wait
time set to zero. Run by ``benchmarks.e2e``:

    locust -f benchmarks/locust_e2e.py --headless -u 100 -r 50 -t 150s --host URL \
        --stage-file reports/<run>/stage.json --control-dir DIR --measure-s 30 --warmup-max-s 60

The window leaves the ramp and the cold starts out of the figures: when every user is spawned
Locust writes ``DIR/spawned``; the benchmark writes ``DIR/go`` once the stage's worker pool has
stopped growing (Locust goes on its own after ``--warmup-max-s``); Locust then resets its
statistics, measures ``--measure-s`` seconds, writes ``DIR/result.json`` and quits.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
from locust import constant, events

# The main job's listeners (--stage-file, the login pool, the ledger, the SLO line at the end).
import loadtests.listeners  # noqa: F401 - registers them on import
from harness.runfolder import BenchControl

# A module import, not ``from ... import CustomerUser``: Locust runs every user class named at the
# top of this file, and only ``ValidOrders`` is meant to run.
from loadtests import users

if TYPE_CHECKING:
    from locust.env import Environment

_POLL_S = 0.05


class ValidOrders(users.CustomerUser):
    """A customer placing valid orders back to back (wait time 0)."""

    wait_time = constant(0)


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("benchmark window")
    group.add_argument("--control-dir", default="", help="where the row and Locust hand over (BenchControl)")
    group.add_argument("--measure-s", type=float, default=30.0, help="length of the measured window")
    group.add_argument("--warmup-max-s", type=float, default=60.0, help="start measuring by then without a go")


@events.spawning_complete.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def _spawned(user_count: int, **_: Any) -> None:
    environment = _environment.get("env")
    if environment is not None and environment.parsed_options is not None:
        control = BenchControl(Path(environment.parsed_options.control_dir))
        control.spawned.write_text(json.dumps({"users": user_count, "at": time.time()}))


_environment: dict[str, Environment] = {}


@events.init.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def _init(environment: Environment, **_: Any) -> None:
    _environment["env"] = environment


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def _start(environment: Environment, **_: Any) -> None:
    if environment.parsed_options is not None and environment.parsed_options.control_dir:
        gevent.spawn(_window, environment)


def _window(environment: Environment) -> None:
    """Wait for the go (or the warm-up bound), reset the statistics, measure, write the result, quit."""
    options = environment.parsed_options
    runner = environment.runner
    if options is None or runner is None:
        return
    control = BenchControl(Path(options.control_dir))
    give_up = time.monotonic() + options.warmup_max_s
    while not control.go.exists() and time.monotonic() < give_up:
        gevent.sleep(_POLL_S)
    runner.stats.reset_all()
    started = time.time()
    gevent.sleep(options.measure_s)
    ended = time.time()
    stats = runner.stats.get(users.NAME, "POST")
    errors = sorted(runner.stats.errors.values(), key=lambda e: -e.occurrences)[:5]
    result = {
        "started": started,
        "ended": ended,
        "warmup_cut_short": not control.go.exists(),
        "users": runner.user_count,
        "requests": stats.num_requests,
        "failures": stats.num_failures,
        "p50_ms": stats.get_response_time_percentile(0.50),
        "p95_ms": stats.get_response_time_percentile(0.95),
        "p99_ms": stats.get_response_time_percentile(0.99),
        "max_ms": stats.max_response_time,
        "errors": {f"{e.error}": e.occurrences for e in errors},
    }
    scratch = control.result_scratch
    scratch.write_text(json.dumps(result))
    scratch.rename(control.result)
    runner.quit()
