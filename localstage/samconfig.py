"""samconfig.toml as data: each environment's stack and template parameter values.

``sam deploy --config-env NAME`` deploys with these; tests/infra lints and transforms the
template with the same values, and the local stage can take an environment's knobs from them.
"""

from __future__ import annotations

import shlex
import tomllib
from typing import TYPE_CHECKING

from harness.template import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMCONFIG = ROOT / "samconfig.toml"


def _deploy(environment: str, path: Path) -> dict[str, object]:
    config = tomllib.loads(path.read_text())
    try:
        return dict(config[environment]["deploy"]["parameters"])
    except KeyError:
        raise KeyError(f"{path.name} has no [{environment}.deploy.parameters]") from None


def environments(path: Path = SAMCONFIG) -> list[str]:
    """The environments that can be deployed (``[NAME.deploy.parameters]``), in file order."""
    config = tomllib.loads(path.read_text())
    return [name for name, table in config.items() if isinstance(table, dict) and "deploy" in table]


def stack_name(environment: str, path: Path = SAMCONFIG) -> str:
    """The CloudFormation stack an environment deploys to."""
    return str(_deploy(environment, path)["stack_name"])


def parameter_overrides(environment: str, path: Path = SAMCONFIG) -> dict[str, str]:
    """An environment's template parameter values, as ``sam deploy`` passes them.

    Raises:
        ValueError: an entry is not ``Key=Value``, or a key is given twice.
    """
    raw = _deploy(environment, path).get("parameter_overrides", "")
    if isinstance(raw, str):
        entries = shlex.split(raw)
    elif isinstance(raw, list):
        entries = [str(entry) for entry in raw]
    else:
        raise ValueError(f"{environment}: parameter_overrides is neither a string nor a list")  # noqa: TRY004
    values: dict[str, str] = {}
    for entry in entries:
        key, equals, value = entry.partition("=")
        if not equals or not key:
            raise ValueError(f"{environment}: parameter override {entry!r} is not Key=Value")
        if key in values:
            raise ValueError(f"{environment}: parameter {key} is given twice")
        values[key] = value
    return values
