"""tox.ini's environments: the ones that talk to the operator's AWS account do not sign with the tests' fake keys.

tox's ``set_env`` wins over ``pass_env``: an environment that passes ``AWS_*`` through but
inherits ``[testenv]``'s ``set_env`` (``AWS_ACCESS_KEY_ID = testing``...) would send every call
of ``tox -e deployed`` to AWS as ``testing`` in us-east-1, whatever the operator's credentials.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"\{\[(?P<section>[^\]]+)\](?P<key>\w+)\}")


def _tox() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    return config


def _expanded(config: configparser.ConfigParser, text: str) -> set[str]:
    """The variable names a ``set_env`` value sets, its ``{[section]key}`` references followed."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        found = REFERENCE.fullmatch(line)
        if found:
            names |= _expanded(config, config[found["section"]][found["key"]])
        elif "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def set_env_names(config: configparser.ConfigParser, env: str) -> set[str]:
    """What ``env`` sets: its own ``set_env`` if it has one (tox does not merge it with ``[testenv]``'s), else that."""
    own = config[f"testenv:{env}"]  # its own keys only: configparser inherits from [DEFAULT], not [testenv]
    return _expanded(config, own["set_env"] if "set_env" in own else config["testenv"].get("set_env", ""))


def test_the_environments_that_pass_the_operator_s_aws_variables_set_none_of_their_own() -> None:
    config = _tox()
    operators = [s.removeprefix("testenv:") for s in config.sections()
                 if s.startswith("testenv:") and "AWS_*" in config[s].get("pass_env", "")]  # fmt: skip

    assert {"deployed", "dashboards", "tune"} <= set(operators)
    for env in operators:
        assert {name for name in set_env_names(config, env) if name.startswith("AWS_")} == set(), env


def test_the_test_environments_keep_the_fake_keys() -> None:
    config = _tox()

    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set_env_names(config, "unit")
