"""The dashboard's commands.

python -m dashboards sync                     # write the alarms and dashboard into template.yaml
python -m dashboards check                    # exit 1 when template.yaml has drifted from dashboards/
python -m dashboards publish --stack NAME     # put the dashboard into an account (or --endpoint-url)

A local run's picture is drawn by ``python -m runreport``.
"""

from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    """The commands and their options."""
    options = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__.splitlines()[0])
    commands = options.add_subparsers(dest="command", required=True)
    commands.add_parser("sync", help="write the generated resources into template.yaml")
    commands.add_parser("check", help="fail when template.yaml differs from the definition")
    publish = commands.add_parser("publish", help="put the dashboard into an account from a deployed stack")
    publish.add_argument("--stack", required=True)
    publish.add_argument("--region", default=None)
    publish.add_argument("--endpoint-url", default=None, help="e.g. a local moto server")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code."""
    args = parser().parse_args(argv)

    if args.command in ("sync", "check"):
        from dashboards import template  # noqa: PLC0415 - each command loads only what it needs

        if args.command == "sync":
            print("template.yaml updated" if template.sync() else "template.yaml already in step")
            return 0
        if template.drift():
            print("template.yaml has drifted from dashboards/: run `python -m dashboards sync`")
            return 1
        print("template.yaml matches dashboards/")
        return 0
    from dashboards.publish import publish_stack  # noqa: PLC0415

    name = publish_stack(args.stack, region=args.region, endpoint_url=args.endpoint_url)
    print(f"dashboard {name} published")
    return 0


if __name__ == "__main__":
    sys.exit(main())
