"""The template under an independent security scan (checkov): every finding fixed or answered in place.

usage: python -m scripts.scan_template (``tox -e security``, in CI)

The scan reads the template as each environment deploys it: samconfig.toml's values with the
conditions decided (``harness/cloudformation.py``), once with the ``CustomerManagedKey`` knob as
the environment sets it and once flipped, so both sides of every ``Fn::If`` are scanned. A
finding is answered by a ``checkov`` skip in the resource's ``Metadata`` with its reason in one
line; a failed check, a skip without a reason or a view checkov cannot parse fails the scan
(exit 1). checkov runs with ``--skip-download``: nothing is fetched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cloudformation import deployed
from harness.template import load_template
from localstage.samconfig import environments, parameter_overrides

KNOB = "CustomerManagedKey"
NO_REASON = "No comment provided"
"""What checkov reports as the reason of a skip that gives none."""


@dataclass(frozen=True)
class Finding:
    """One check on one resource of one view that is not a plain pass."""

    view: str
    check: str
    resource: str
    title: str
    reason: str | None
    """The template's answer (a skip's comment); None for a failed check."""

    @property
    def answered(self) -> bool:
        """Skipped in the template, with a reason."""
        return self.reason is not None and self.reason.strip() not in ("", NO_REASON)


@dataclass(frozen=True)
class Scan:
    """What checkov said of every view."""

    findings: list[Finding]
    passed: dict[str, int]
    parsing_errors: dict[str, int]

    @property
    def unanswered(self) -> list[Finding]:
        """The findings that fail the scan."""
        return [finding for finding in self.findings if not finding.answered]

    @property
    def ok(self) -> bool:
        """Nothing unanswered and every view parsed."""
        return not self.unanswered and not any(self.parsing_errors.values())


def views(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The template as each environment deploys it, with the key knob as set and flipped."""
    source = load_template() if template is None else template
    chosen: dict[str, dict[str, Any]] = {}
    for environment in environments():
        values = parameter_overrides(environment)
        own = values.get(KNOB, str(source["Parameters"][KNOB]["Default"]))
        for knob in (own, "false" if own == "true" else "true"):
            name = f"{environment}-{'key' if knob == 'true' else 'nokey'}"
            chosen_values = values | {KNOB: knob}
            view = deployed(source, chosen_values)
            # checkov decides conditions itself, from the defaults: make them this view's values.
            view["Parameters"] = {
                key: {**spec, "Default": chosen_values.get(key, spec.get("Default"))}
                for key, spec in source["Parameters"].items()
            }
            chosen[name] = view
    return chosen


def scan(templates: dict[str, dict[str, Any]]) -> Scan:
    """Run checkov over each named template (CloudFormation as data) and collect its findings."""
    with tempfile.TemporaryDirectory(prefix="template-scan-") as folder:
        for name, template in templates.items():
            (Path(folder) / f"{name}.json").write_text(json.dumps(template, indent=1))
        # --quiet would drop the skipped checks from the JSON; the exit status is ours to decide.
        command = [sys.executable, "-m", "checkov.main", "--directory", folder, "--framework", "cloudformation"]
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [*command, "--skip-download", "--output", "json"], capture_output=True, text=True, check=False
        )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return _read(json.loads(done.stdout), list(templates))


def _read(report: dict[str, Any] | list[dict[str, Any]], names: list[str]) -> Scan:
    reports = report if isinstance(report, list) else [report]
    findings: list[Finding] = []
    passed = dict.fromkeys(names, 0)
    errors = dict.fromkeys(names, 0)
    for part in reports:
        results = part.get("results", {})
        for path in results.get("parsing_errors", []):
            errors[Path(path).stem] = errors.get(Path(path).stem, 0) + 1
        for check in results.get("passed_checks", []):
            passed[_view(check)] += 1
        for kind in ("failed_checks", "skipped_checks"):
            for check in results.get(kind, []):
                reason = check["check_result"].get("suppress_comment") if kind == "skipped_checks" else None
                findings.append(
                    Finding(_view(check), check["check_id"], check["resource"], check["check_name"], reason)
                )
    if not any(passed.values()) and not findings:
        raise RuntimeError("checkov read no template: nothing passed and nothing failed")
    return Scan(findings, passed, errors)


def _view(check: dict[str, Any]) -> str:
    return Path(check["file_path"]).stem


def table(result: Scan) -> str:
    """Per view: checks passed, answered, unanswered; then every unanswered finding."""
    lines = ["| view | passed | answered | unanswered |", "|---|---:|---:|---:|"]
    for view, passed in result.passed.items():
        mine = [finding for finding in result.findings if finding.view == view]
        answered = sum(finding.answered for finding in mine)
        lines.append(f"| {view} | {passed} | {answered} | {len(mine) - answered} |")
    for finding in result.unanswered:
        why = "failed" if finding.reason is None else "skipped without a reason"
        lines.append(f"UNANSWERED {finding.view}: {finding.check} {finding.resource} ({finding.title}): {why}")
    for view, count in result.parsing_errors.items():
        if count:
            lines.append(f"UNPARSED {view}: checkov could not read it")
    return "\n".join(lines)


def main() -> int:
    """Scan every view; exit 1 on an unanswered finding."""
    result = scan(views())
    print(table(result))
    print("template scan:", "PASS" if result.ok else "FAIL", f"({len(result.unanswered)} unanswered)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
