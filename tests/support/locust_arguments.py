"""Parse Locust command lines with Locust's own parser, the locustfile's options included.

    python -m tests.support.locust_arguments ANSWERS < argvs.json

Reads a JSON list of argvs (what follows ``locust``) on stdin and writes to ANSWERS a JSON list
with, for each, ``null`` when it parses or the parser's error. Its own process: importing
Locust patches gevent into the interpreter, which a pytest process must not get.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path


def main() -> None:
    """Parse every argv of stdin, write the answers."""
    # Locust first, as `python -m locust` does: it patches gevent in before anything imports ssl.
    from locust.argument_parser import get_parser

    import loadtests.locustfile  # noqa: F401 - registers the create-order options

    argvs = json.load(sys.stdin)

    answers: list[str | None] = []
    for argv in argvs:
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                # No configuration file: a locust.conf on the machine must not decide the answer.
                get_parser(default_config_files=[]).parse_args(argv)
        except SystemExit as exit_:
            lines = stderr.getvalue().strip().splitlines()
            answers.append(f"exit {exit_.code}: {lines[-1] if lines else ''}")
        else:
            answers.append(None)
    Path(sys.argv[1]).write_text(json.dumps(answers))


if __name__ == "__main__":
    main()
