"""The template's production knobs as the local stage honours them, and the ones it cannot.

The stage reads the template's parameter values (the defaults, or an environment's from
samconfig.toml): provisioned concurrency becomes execution environments initialised before the
first request, reserved concurrency caps the environments, SnapStart one environment initialised
at the stage's start (the version's publish) from which every new one is restored
(``localstage.snapstart``), and the stage's throttle (rate and burst) a token bucket in front of
the function when asked for: off unless asked, because the main job's load is about the
template's default rate (README, "The local stage"). Every other parameter is named in
``NOT_EMULATED`` with what stands in for it, and the stage's banner says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.template import parameter_defaults, parameter_problems

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVISIONED = "ProvisionedConcurrency"
RESERVED = "ReservedConcurrency"
RATE = "ApiThrottlingRateLimit"
BURST = "ApiThrottlingBurstLimit"
SNAPSTART = "SnapStart"
SNAPSTART_ON = "PublishedVersions"
"""``SnapStart``'s value (``ApplyOn``) that turns it on; ``None`` leaves it off."""
HONOURED = {
    PROVISIONED: "environments initialised before the first request (Init Duration on no invocation)",
    SNAPSTART: "PublishedVersions: one environment initialised at the stage's start and snapshotted; every new "
    "one restored from it (a fork), Restore Duration on its first REPORT (--snapstart turns it on)",
    RESERVED: "caps the execution environments (past it, Lambda's throttle)",
    RATE: "the stage throttle's rate, when the stage is started with it (--throttle)",
    BURST: "the stage throttle's burst, when the stage is started with it (--throttle)",
    "LogLevel": "the function's LOG_LEVEL",
}
NOT_EMULATED = {
    "StageName": "the stage names everything with its own stage name, local",
    "DeploymentType": "no gradual rollout: one version of the code runs, there is no alias to shift, no CodeDeploy "
    "and no rollback",
    "AlarmEndpoint": "no alarms act locally, so none notifies anybody",
    "AlarmProtocol": "no alarms act locally, so none notifies anybody",
    "AccessLogRetentionDays": "the stage writes its own JSON access log, kept with the run",
    "LogRetentionDays": "the environments' logs are kept with the run",
    "ProtectData": "moto's tables live as long as the stage",
    "CustomerManagedKey": "no key: moto's tables and queues are not encrypted; the key and its policy are checked "
    "against the template by tests/infra, the scan by tox -e security",
}


@dataclass(frozen=True)
class Knobs:
    """The knobs the stage turns, from the template's parameter values."""

    provisioned: int = 0
    reserved: int | None = None
    rate: float = 100.0
    burst: int = 200
    snapstart: bool = False
    """SnapStart on (``SnapStart=PublishedVersions``): new environments are restored from a snapshot."""

    @classmethod
    def from_template(
        cls, template: dict[str, Any], overrides: Mapping[str, str] | None = None, *, snapstart: bool = False
    ) -> Knobs:
        """The knobs for these parameter values (the template's defaults for the rest).

        ``snapstart``: SnapStart on whatever the values say (the stage's ``--snapstart``), as
        ``SnapStart=PublishedVersions`` among them would turn it on, and judged with them so.

        Raises:
            ValueError: a value the template would refuse (as CloudFormation would), the pair its
                ``Rules`` refuse among them: SnapStart with provisioned concurrency.
        """
        overrides = dict(overrides or {})
        if snapstart:
            overrides[SNAPSTART] = SNAPSTART_ON
        values = parameter_values(template, overrides)
        reserved = values.get(RESERVED, "")
        return cls(
            provisioned=int(values.get(PROVISIONED, "0")),
            reserved=int(reserved) if reserved else None,
            rate=float(values[RATE]),
            burst=int(values[BURST]),
            snapstart=values.get(SNAPSTART) == SNAPSTART_ON,
        )

    def concurrency(self, limit: int) -> int:
        """Execution environments at most: the stage's own limit, or the reserved concurrency when lower."""
        return limit if self.reserved is None else min(limit, self.reserved)

    def banner(self, *, limit: int, throttled: bool) -> list[str]:
        """What the stage does with each knob, and what it does not emulate, one line each."""
        provisioned = (
            f"{self.provisioned} environments initialised before the first request"
            if self.provisioned
            else "0: environments start on demand (cold starts)"
        )
        reserved = f"{self.reserved} (caps the environments)" if self.reserved is not None else "none"
        throttle = (
            f"on: {self.rate:g} requests/s, burst {self.burst} -> 429 THROTTLED"
            if throttled
            else f"off (the stage's {self.rate:g} requests/s, burst {self.burst} act on AWS; "
            "--throttle applies them here)"
        )
        snapstart = (
            "on: one environment initialised at the start (a version's publish) and snapshotted at its restore/next; "
            "every new one restored from it, a fork of its process (RESTORE_START, RESTORE_REPORT, Restore Duration "
            "on its first REPORT)"
            if self.snapstart
            else "off: every new environment initialises (SnapStart=PublishedVersions or --snapstart turns it on)"
        )
        lines = [
            f"provisioned    {provisioned}",
            f"reserved       {reserved}; at most {self.concurrency(limit)} environments",
            f"throttle       {throttle}",
            f"snapstart      {snapstart}",
        ]
        return lines + [f"not emulated   {name}: {why}" for name, why in NOT_EMULATED.items()]


def parameter_values(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Every parameter's value as a deploy would have it: the override, else the default.

    Raises:
        ValueError: an override the template would refuse.
    """
    problems = parameter_problems(template, overrides)
    if problems:
        raise ValueError("; ".join(problems))
    defaults = {name: "" if value is None else str(value) for name, value in parameter_defaults(template).items()}
    return defaults | dict(overrides)
