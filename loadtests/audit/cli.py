"""The post-run audit: the client's ledger against the orders table and the queue's messages.

``python -m loadtests.audit --stage-file reports/<run>/stage.json`` audits a finished run again
against its stage while the stage is still up, as the main job does.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from loadtests.audit.folder import audit_stage


def parser() -> argparse.ArgumentParser:
    """The audit command's options: the stage file of a run whose stage is still up."""
    options = argparse.ArgumentParser(prog="python -m loadtests.audit", description=__doc__.splitlines()[0])
    options.add_argument("--stage-file", type=Path, required=True)
    return options


def main(argv: list[str] | None = None) -> int:
    """Audit a finished run against a stage that is still up (``--stage-file``), as the main job does."""
    args = parser().parse_args(argv)
    stage = json.loads(args.stage_file.read_text())
    os.environ.update(stage["aws_env"])
    report = audit_stage(args.stage_file.parent, stage["physical"])
    print(report.table())
    return 0 if report.passed else 1
