"""``python -m loadtests.deployed``: the deployed-stack runner (see the package's docstring)."""

from __future__ import annotations

import sys

from loadtests.deployed.cli import main

sys.exit(main())
