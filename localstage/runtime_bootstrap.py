"""An environment's wrapper: a chaos run's faults, or a SnapStart snapshot, installed; then Lambda's runtime client.

    python -m localstage.runtime_bootstrap [--chaos-plan PLAN [--faults-from EPOCH]] [--snapshot] HANDLER

What a Lambda ``AWS_LAMBDA_EXEC_WRAPPER`` is to a managed runtime (the fault injection
extension's wrapper in the template's non-production environments): the worker pool starts an
environment with this in place of ``python -m awslambdaric HANDLER`` when the function has a
fault plan, or for the one environment it initialises as a SnapStart snapshot. ``--chaos-plan``
installs the plan for every SDK client made from then on, so that the clients the handler builds
at its init carry the faults; ``--snapshot`` makes the runtime client's ``restore/next`` the
snapshot point, where this process becomes the snapshot the stage restores environments from
(``localstage.snapshot``). Then it runs ``awslambdaric`` exactly as ``python -m awslambdaric
HANDLER`` runs it. The Lambda package holds no chaos code and no snapshot code.

Each fault is journaled into the environment's log with the request it met: the runtime client's
own record of the invocation in flight, the one its logging filter stamps on every log record.
Standard library only, plus ``chaos`` (on a chaos run), ``localstage.snapshot`` (for a snapshot)
and the runtime client.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

RUNTIME_CLIENT = "awslambdaric"
"""The module ``python -m`` runs in an environment: Lambda's runtime interface client."""


def _request_in_flight() -> str | None:
    """The request id of the invocation the runtime client is running (``None`` during the init)."""
    bootstrap = sys.modules.get(f"{RUNTIME_CLIENT}.bootstrap")
    request_id: str | None = getattr(bootstrap, "_GLOBAL_AWS_REQUEST_ID", None)
    return request_id


def _journal(fault: dict[str, Any]) -> None:
    from chaos.inject import journal_line  # noqa: PLC0415 - imported with the injector, below

    # sys.stdout at the moment of the fault: the runtime client replaces it with an unbuffered one.
    sys.stdout.write(journal_line(fault, _request_in_flight()))


def install_faults(plan: Path, faults_from: float | None) -> None:
    """Install the fault plan ``plan`` for every SDK client made from now on (its windows from ``faults_from``)."""
    from chaos.inject import FaultInjector  # noqa: PLC0415 - only chaos runs load chaos and botocore here
    from chaos.plan import FaultPlan  # noqa: PLC0415

    FaultInjector(FaultPlan.load(plan), started_at=faults_from, journal=_journal).install_for_new_clients()


def main(argv: list[str] | None = None) -> None:
    """Install the faults and the snapshot point, then run the runtime client for ``HANDLER`` as ``python -m`` would."""
    parser = argparse.ArgumentParser(prog="python -m localstage.runtime_bootstrap")
    parser.add_argument("--chaos-plan", type=Path, help="the fault plan (chaos/*.toml)")
    parser.add_argument("--faults-from", type=float, help="epoch seconds the plan's windows count from")
    parser.add_argument(
        "--snapshot", action="store_true", help="become a SnapStart snapshot at restore/next (localstage.snapshot)"
    )
    parser.add_argument("handler", help="the template's Handler")
    args = parser.parse_args(argv)
    if args.chaos_plan is not None:
        install_faults(args.chaos_plan, args.faults_from)
    if args.snapshot:
        from localstage import snapshot  # noqa: PLC0415 - only a snapshot's environment loads it

        snapshot.install()
    sys.argv = [RUNTIME_CLIENT, args.handler]
    runpy.run_module(RUNTIME_CLIENT, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
