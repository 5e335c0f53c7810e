"""``python -m loadtests.audit``: the main job's audit again, against a stage still up (see ``cli``)."""

from __future__ import annotations

import sys

from loadtests.audit.cli import main

sys.exit(main())
