"""CloudWatch dashboard and alarms for create-order: one definition for AWS and for local runs."""

from __future__ import annotations

import sys
from pathlib import Path

# The metric names come from the function's own names module: the dashboard reads them from the
# Lambda package (function/), which is not an installed distribution.
_FUNCTION_DIR = str(Path(__file__).resolve().parents[1] / "function")
if _FUNCTION_DIR not in sys.path:
    sys.path.append(_FUNCTION_DIR)
