"""The Locust load shape that plays one of ``loadtests/shapes.py``'s step lists, named by ``LOAD_SHAPE``.

The locustfile exposes it to Locust only when ``LOAD_SHAPE`` is set: a shape Locust finds there
overrides ``--users``, ``--spawn-rate`` and ``--run-time``.
"""

from __future__ import annotations

import os

from locust import LoadTestShape

from loadtests.shapes import SHAPE_VARIABLE, SHAPES, Step


class StepsShape(LoadTestShape):
    """The load shape named by ``LOAD_SHAPE`` (loadtests/shapes.py), as data."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # locust's LoadTestShape.__init__ is unannotated
        self.steps: tuple[Step, ...] = SHAPES[os.environ[SHAPE_VARIABLE]]

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate of the step the run is in; None ends the run."""
        elapsed = self.get_run_time()  # type: ignore[no-untyped-call]  # locust's LoadTestShape.get_run_time is unannotated
        for step in self.steps:
            if elapsed < step.until_s:
                return step.users, step.spawn_rate
        return None
