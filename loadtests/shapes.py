"""Load shapes as data: each is a list of stages, each stage holding until ``until_s``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Run ``users`` users (added at ``spawn_rate`` per second) until ``until_s`` into the run."""

    until_s: float
    users: int
    spawn_rate: float


SHAPES: dict[str, tuple[Stage, ...]] = {
    # 100 users for a minute.
    "steady": (Stage(60, 100, 20),),
    # 25 more users every 20 s up to 100, then hold.
    "step": (Stage(20, 25, 25), Stage(40, 50, 25), Stage(60, 75, 25), Stage(90, 100, 25)),
    # a quiet baseline, a burst to 100 users in two seconds, back to the baseline.
    "spike": (Stage(20, 20, 20), Stage(40, 100, 50), Stage(70, 20, 50)),
}
