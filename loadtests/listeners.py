"""The harness's Locust event listeners: its options, each process's set-up, the SLO gate.

Registered with Locust's events when this module is first imported (by the locustfile, or by a
benchmark's locustfile that reuses the main job's): Python imports a module once, so each
listener is registered once however many locustfiles import it. Nothing else here registers.

- ``add_arguments`` (``init_command_line_parser``): the harness's options (the local stage or a
  deployed stack, where the ledger goes, the users' weights, the objectives, the verdict file).
- ``set_up`` (``init``): the users' weights and this process's part (``loadtests/part.py``),
  taken from the stage file or a deployed stack's files, or handed out by the master in a
  distributed run (``loadtests/distributed.py``).
- ``slo_gate`` (``quitting``): the verdict of ``loadtests/gate.py`` on Locust's statistics for
  the valid traffic, and the process's exit code from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from harness import slo
from harness.runfolder import RunFolder
from loadtests.distributed import LedgerCollector, LedgerShipper
from loadtests.gate import SloVerdict
from loadtests.part import CASTING
from loadtests.users import NAME, USERS

if TYPE_CHECKING:
    from locust.env import Environment


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def add_arguments(parser: Any) -> None:
    """Add the harness's own options to Locust's (the ``create-order`` group)."""
    group = parser.add_argument_group("create-order")
    group.add_argument("--stage-file", default="", help="the stage file of a local stage run")
    group.add_argument("--users-file", default="", help="JSON list of {username, password, customer_id}")
    group.add_argument("--cognito-client-id", default="", help="app client id (deployed stack)")
    group.add_argument("--catalog-file", default="", help="JSON {product_id: {price, currency, active}}")
    group.add_argument("--ledger-dir", default="", help="where each process writes its ledger")
    group.add_argument("--weights", default="customer=8,duplicate=1,bad=1,intruder=1", help="user weights")
    group.add_argument(
        "--slo-p95-ms", type=float, default=float(slo.LATENCY_P95_MS), help="p95 of valid traffic at most"
    )
    group.add_argument(
        "--slo-error-ratio", type=float, default=slo.SERVER_ERROR_RATIO, help="failed share of valid traffic at most"
    )
    group.add_argument("--verdict-file", default="", help="where the SLO gate writes its verdict (JSON)")


@events.init.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def set_up(environment: Environment, **_: Any) -> None:
    """Weigh the users and give this process its part: here, from the master, or to the workers.

    A worker's part comes from the master (a ``LedgerShipper``); a master hands each worker its
    own (a ``LedgerCollector``); a lone process takes the whole part itself.
    """
    options = environment.parsed_options
    if options is None:
        return
    weights = dict(part.split("=") for part in options.weights.split(",") if part)
    for user_class in USERS:
        user_class.weight = int(weights.get(user_class.role, 0))
    if isinstance(environment.runner, WorkerRunner):
        # Its part (customers, app client, catalog) comes from the master, which may be on another host.
        spool = Path(options.ledger_dir) if options.ledger_dir else RunFolder(Path()).ledger_spool()
        shipper = LedgerShipper(environment, lambda part: CASTING.take(part, spool, shipping=True))
        CASTING.awaited = shipper.has_part
        return
    if options.stage_file:
        stage = json.loads(Path(options.stage_file).read_text())
        part = {key: stage[key] for key in ("customers", "client_id", "catalog", "aws_env")}
        run = RunFolder(Path(options.stage_file).parent)
        ledger_dir = Path(options.ledger_dir) if options.ledger_dir else run.ledger_dir
    else:
        part = {
            "customers": json.loads(Path(options.users_file).read_text()) if options.users_file else [],
            "client_id": options.cognito_client_id,
            "catalog": json.loads(Path(options.catalog_file).read_text()) if options.catalog_file else {},
            "aws_env": {},
        }
        ledger_dir = Path(options.ledger_dir) if options.ledger_dir else RunFolder(Path()).ledger_dir
    if isinstance(environment.runner, MasterRunner):
        LedgerCollector(environment, ledger_dir, part, options.expect_workers)
    else:
        CASTING.take(part, ledger_dir)


@events.quitting.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def slo_gate(environment: Environment, **_: Any) -> None:
    """Close this process's ledger; on the master (or a lone process) judge the objectives and set the exit code."""
    if CASTING.part is not None:
        CASTING.part.ledger.close()
    if isinstance(environment.runner, WorkerRunner):
        environment.process_exit_code = 0  # the master holds the merged statistics and judges them
        return
    options = environment.parsed_options
    if options is None:
        environment.process_exit_code = 1
        return
    stats = environment.stats.get(NAME, "POST")
    verdict = SloVerdict(
        name=NAME,
        requests=stats.num_requests,
        p95_ms=stats.get_response_time_percentile(0.95) or 0.0,
        error_ratio=stats.num_failures / stats.num_requests if stats.num_requests else 0.0,
        p95_objective_ms=options.slo_p95_ms,
        error_budget=options.slo_error_ratio,
    )
    print(verdict.line())
    if options.verdict_file:
        Path(options.verdict_file).write_text(json.dumps(verdict.as_json()))
    # Set either way: Locust's own default fails a run with any failed request, and the
    # objectives are what decide here (a chaos run opens them wide).
    environment.process_exit_code = 0 if verdict.passed else 1
