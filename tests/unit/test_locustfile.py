"""The locustfile as Locust reads it: the four users and, with LOAD_SHAPE only, the shape; each listener once.

Locust is imported in a child interpreter: importing it patches the standard library with
gevent's, which must stay out of the test session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.shapes import SHAPE_VARIABLE, SHAPES

ROOT = Path(__file__).resolve().parents[2]

LOADED = """
import json
import sys

import locust  # first, as under `locust -f`: it patches the standard library with gevent's
from locust import events
from locust.util.load_locustfile import load_locustfile

# As `locust -f loadtests/locustfile.py` does: the file imported as the module `locustfile`.
users, shapes = load_locustfile("loadtests/locustfile.py")
# The same file under its package name, and the benchmark's locustfile that reuses the listeners.
import loadtests.locustfile
import benchmarks.locust_e2e

import loadtests.listeners as listeners

hooks = {
    "add_arguments": events.init_command_line_parser,
    "set_up": events.init,
    "slo_gate": events.quitting,
}
print(json.dumps({
    "users": {name: [cls.__module__, cls.abstract] for name, cls in users.items()},
    "shapes": [[type(shape).__name__, [list(vars(step).values()) for step in shape.steps]] for shape in shapes],
    "registered": {name: hook._handlers.count(getattr(listeners, name)) for name, hook in hooks.items()},
}))
"""


def _loaded(shape: str | None) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if key != SHAPE_VARIABLE}
    if shape is not None:
        env[SHAPE_VARIABLE] = shape
    result = subprocess.run(
        [sys.executable, "-c", LOADED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_locust_finds_the_four_users_by_their_names_and_no_shape_without_load_shape() -> None:
    # When Locust loads the locustfile with no shape named
    loaded = _loaded(None)

    # Then it runs exactly the four users of loadtests/users.py (their base stays abstract), and no shape
    assert loaded["users"] == {
        name: ["loadtests.users", False]
        for name in ("BadInputSender", "CustomerUser", "DuplicateSubmitter", "Intruder")
    }
    assert loaded["shapes"] == []


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_load_shape_names_the_steps_locust_plays(shape: str) -> None:
    # When LOAD_SHAPE names a shape
    loaded = _loaded(shape)

    # Then Locust finds one shape, playing that shape's steps
    assert loaded["shapes"] == [["StepsShape", [[s.until_s, s.users, s.spawn_rate] for s in SHAPES[shape]]]]


def test_each_listener_is_registered_once_however_many_locustfiles_import_it() -> None:
    # When the locustfile is loaded as Locust loads it, imported again under its package name, and
    # the benchmark's locustfile (which reuses the main job's listeners) is imported too
    loaded = _loaded(None)

    # Then each of the harness's listeners is on its event once: one option group, one part, one verdict
    assert loaded["registered"] == {"add_arguments": 1, "set_up": 1, "slo_gate": 1}
