"""Load shapes as data: each is a list of steps, each step holding until ``until_s``."""

from __future__ import annotations

from dataclasses import dataclass

SHAPE_VARIABLE = "LOAD_SHAPE"
"""The environment variable that names the shape a Locust run plays (``loadtests/steps_shape.py``)."""


@dataclass(frozen=True)
class Step:
    """Run ``users`` users (added at ``spawn_rate`` per second) until ``until_s`` into the run."""

    until_s: float
    users: int
    spawn_rate: float


SHAPES: dict[str, tuple[Step, ...]] = {
    # 100 users for a minute.
    "steady": (Step(60, 100, 20),),
    # 25 more users every 20 s up to 100, then hold.
    "step": (Step(20, 25, 25), Step(40, 50, 25), Step(60, 75, 25), Step(90, 100, 25)),
    # a quiet baseline, a burst to 100 users in two seconds, back to the baseline.
    "spike": (Step(20, 20, 20), Step(40, 100, 50), Step(70, 20, 50)),
}
