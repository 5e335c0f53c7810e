"""Draw a local run's dashboard again (the main job and chaos runs do it themselves).

python -m runreport RUN_DIR                   # draw a local run's dashboard into RUN_DIR/dashboard/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runreport.render import render_run


def parser() -> argparse.ArgumentParser:
    """The command's one argument: the run folder."""
    options = argparse.ArgumentParser(prog="python -m runreport", description=__doc__.splitlines()[0])
    options.add_argument("run_dir", type=Path)
    return options


def main(argv: list[str] | None = None) -> int:
    """Draw the run's dashboard; its exit code."""
    args = parser().parse_args(argv)
    page = render_run(args.run_dir)
    print(f"dashboard: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
