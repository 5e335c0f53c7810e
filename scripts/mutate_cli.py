"""The command line of ``python -m scripts.mutate``, kept apart from mutmut.

``scripts/mutate.py`` imports mutmut, which only the ``mutate`` environment installs; its
options live here so that they can be read where mutmut is not (the README's command lines are
parsed by ``tests/infra/test_readme_commands.py`` in the ``unit`` environment).
"""

from __future__ import annotations

import argparse
import os


def parser(description: str = "") -> argparse.ArgumentParser:
    """The mutation run's options: targets, parallel runs, which tests, report only, survivors."""
    options = argparse.ArgumentParser(description=description)
    options.add_argument(
        "targets", nargs="*", help="source paths or mutant names/globs (default: every unchecked mutant)"
    )
    options.add_argument(
        "--max-children",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="parallel test runs (default: twice the cores: the tests spend much of their time in botocore's backoff)",
    )
    options.add_argument(
        "--all-tests",
        action="store_true",
        help="give each mutant every test of its function, as mutmut does (to check a survivor against them all)",
    )
    options.add_argument("--report-only", action="store_true", help="print the stored scores without running")
    options.add_argument("--survivors", action="store_true", help="also print the diff of every surviving mutant")
    return options
