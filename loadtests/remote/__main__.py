"""``python -m loadtests.remote``: the deployed stage's lifecycle (see the package's docstring)."""

from __future__ import annotations

import sys

from loadtests.remote.cli import main

sys.exit(main())
