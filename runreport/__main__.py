"""Draw a local run's dashboard again (the main job and chaos runs do it themselves), or compare two runs.

python -m runreport RUN_DIR                   # draw a local run's dashboard into RUN_DIR/dashboard/
python -m runreport compare BASE NEW          # judge NEW against BASE (a run folder, or latest)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runreport import compare_cli
from runreport.render import render_run

COMPARE = "compare"


def parser() -> argparse.ArgumentParser:
    """The drawing's one argument: the run folder (``compare`` has its own parser, ``compare_cli.parser``)."""
    options = argparse.ArgumentParser(prog="python -m runreport", description=__doc__.splitlines()[0])
    options.add_argument("run_dir", type=Path)
    return options


def arguments(argv: list[str]) -> argparse.Namespace:
    """``argv`` read by the parser of what it asks for: ``compare``'s, else the drawing's."""
    if argv[:1] == [COMPARE]:
        return compare_cli.parser().parse_args(argv[1:])
    return parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Draw the run's dashboard, or compare two runs; the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [COMPARE]:
        return compare_cli.main(argv[1:])
    args = parser().parse_args(argv)
    page = render_run(args.run_dir)
    print(f"dashboard: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
