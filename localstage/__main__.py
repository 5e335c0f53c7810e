"""``python -m localstage``: run the local stage until Ctrl-C, printing how to call it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from localstage.allotment import Allotment, add_arguments
from localstage.local import LocalStage, id_token, new_run_dir
from localstage.samconfig import environments, parameter_overrides
from localstage.snapstart import state_line


def parser() -> argparse.ArgumentParser:
    """The stage's options: its port, its concurrency, an environment's knobs, the stage throttle, the allotment."""
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--port", type=int, default=0, help="gateway port (default: any free port)")
    options.add_argument("--concurrency", type=int, default=100, help="execution environments at most")
    options.add_argument(
        "--environment",
        choices=environments(),
        help="take the knobs (concurrency, throttle, log level) from this samconfig.toml environment; "
        "the names stay the stage's own",
    )
    options.add_argument(
        "--throttle", action="store_true", help="throttle at the stage's rate and burst (429 THROTTLED), as API Gateway"
    )
    options.add_argument(
        "--snapstart",
        action="store_true",
        help="Lambda SnapStart, whatever the values say: one environment initialised and snapshotted at the start, "
        "every new one restored from it",
    )
    add_arguments(options)
    return options


def main(argv: list[str] | None = None) -> int:
    """Start the stage, print its URL and Cognito settings and a curl line, wait for a signal."""
    args = parser().parse_args(argv)
    parameters = parameter_overrides(args.environment) if args.environment else {}
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalStage(
        new_run_dir(),
        concurrency=args.concurrency,
        port=args.port,
        parameters=parameters,
        throttle=args.throttle,
        snapstart=args.snapstart,
        allotment=Allotment.from_arguments(args),
    ) as stage:
        info = stage.describe()
        customer = info["customers"][0]
        token = id_token(info, customer)
        body = '{{"customer_id": "{}", "items": [{{"product_id": "P-001", "quantity": 1}}]}}'.format(
            customer["customer_id"]
        )
        print(f"orders URL     {info['orders_url']}")
        print(f"user pool      {info['user_pool_id']}  client {info['client_id']}")
        print(f"cognito        {info['endpoints']['cognito-idp']}")
        print(f"customer       {customer['username']} / {customer['password']} ({customer['customer_id']})")
        print(f"admin          {info['admin']['username']} (group order-admins)")
        print(f"run folder     {info['run_dir']}")
        print(f"knobs          {'of ' + args.environment if args.environment else 'the template defaults'}")
        for line in stage.knobs.banner(limit=args.concurrency, throttled=args.throttle):
            print(line)
        if info["snapstart"] is not None:
            print(f"snapshot       {state_line(info['snapstart'])}")
        for line in stage.groups.banner() if stage.groups else []:
            print(line)
        print(f"interpreter    {info['interpreter']}")
        print("try:")
        print(
            f"  curl -si -X POST {info['orders_url']} -H 'Content-Type: application/json' "
            f"-H 'Idempotency-Key: try-1' -H 'Authorization: {token}' -d '{body}'"
        )
        print("Ctrl-C stops the stage.", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
