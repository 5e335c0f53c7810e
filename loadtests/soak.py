"""The soak: the main job for 10 minutes (100 users), the environments' memory watched, no error allowed.

    python -m loadtests.soak [--run-time 10m] [--users 100] [--rss-sample-s 15]
                             [--rss-settle-s 60] [--rss-growth-mib 5] [any option of loadtests.run]

Fails unless every request of the run is answered as expected (Locust failures 0, so no 5xx),
the audit holds (nothing lost, duplicated, orphaned or unqueued), and every execution
environment's RSS grew by at most the limit from its first sample once it has lived the
settling time (its init behind it) to its last. The run folder's memory.jsonl has every
sample; memory.json the per-environment table.
"""

from __future__ import annotations

import sys

from loadtests import run

DEFAULTS = ["--run-time", "10m", "--rss-sample-s", "15", "--slo-error-ratio", "0"]
"""The soak's own defaults; an option given on the command line comes later and wins."""


def command_line(argv: list[str] | None = None) -> list[str]:
    """The main job's arguments for a soak: the soak's defaults, then the given options (else the process's)."""
    return [*DEFAULTS, *(sys.argv[1:] if argv is None else argv)]


def main(argv: list[str] | None = None) -> int:
    """Run the main job with the soak's defaults under the given options; its exit code."""
    return run.main(command_line(argv))


if __name__ == "__main__":
    sys.exit(main())
