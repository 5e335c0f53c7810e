"""Every command's ``--help`` prints: argparse formats each option's help with ``%``, so a bare
``%`` in one (``% of the baseline``) made ``python -m loadtests.run --help`` a traceback."""

from __future__ import annotations

import importlib

import pytest

PARSERS = [
    "loadtests.run", "loadtests.tune", "loadtests.deployed.cli", "loadtests.audit.cli", "runreport.compare_cli",
    "runreport.__main__", "benchmarks.run", "benchmarks.loadgen", "localstage.__main__", "dashboards.__main__",
    "scripts.mutate_cli", "scripts.openapi",
]  # fmt: skip


@pytest.mark.parametrize("module", PARSERS)
def test_each_command_s_help_is_printed_whole(module: str) -> None:
    parser = importlib.import_module(module).parser()

    text = parser.format_help()

    assert text.startswith("usage: ")


def test_a_percent_in_an_option_s_help_is_printed_as_itself() -> None:
    text = importlib.import_module("loadtests.run").parser().format_help()

    assert "% of the baseline" in " ".join(text.split())
