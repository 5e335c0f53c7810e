"""The template scan (scripts/scan_template.py) passes the template and fails it with a fix or a reason taken away.

Run by ``tox -e security``, where checkov is installed (``pytest tests/security -m security``);
checkov pins its own boto3, so these tests are not run by the unit environment.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.template import load_template
from scripts.scan_template import Finding, Scan, scan, views

pytestmark = pytest.mark.security


def _broken() -> dict[str, dict[str, Any]]:
    """The template with one fix removed and, apart, one answer's reason blanked."""
    without_versioning = copy.deepcopy(load_template())
    del without_versioning["Resources"]["FisConfigBucket"]["Properties"]["VersioningConfiguration"]
    without_reason = copy.deepcopy(load_template())
    skips = without_reason["Resources"]["CreateOrderFunction"]["Metadata"]["checkov"]["skip"]
    next(skip for skip in skips if skip["id"] == "CKV_AWS_117")["comment"] = ""
    unversioned = views(without_versioning)
    return {
        "no-versioning": unversioned["dev-nokey"],
        "no-reason": views(without_reason)["dev-nokey"],
        "prod-no-versioning": unversioned["prod-key"],
    }


@pytest.fixture(scope="module")
def scanned() -> Scan:
    # One checkov run: two views of the template as it is (`tox -e security` scans all six first), and the broken ones.
    as_is = views()
    return scan({"dev-nokey": as_is["dev-nokey"], "prod-key": as_is["prod-key"], **_broken()})


def _unanswered(result: Scan, view: str) -> set[tuple[str, str]]:
    return {(finding.check, finding.resource) for finding in result.unanswered if finding.view == view}


def test_the_template_as_it_is_passes_with_its_findings_answered(scanned: Scan) -> None:
    assert _unanswered(scanned, "dev-nokey") == set()
    assert _unanswered(scanned, "prod-key") == set()
    assert scanned.passed["dev-nokey"]
    assert scanned.passed["prod-key"]
    # The answers are read: each function's DLQ finding is skipped, with its own reason.
    dlq = [f for f in scanned.findings if f.check == "CKV_AWS_116" and f.view in ("dev-nokey", "prod-key")]
    reasons = {(f.view, f.resource.rsplit(".", 1)[-1]): str(f.reason) for f in dlq}
    assert set(reasons) == {(view, function) for view in ("dev-nokey", "prod-key")
                            for function in ("CreateOrderFunction", "PreTrafficHookFunction")}  # fmt: skip
    assert all("synchronously" in r for (_, function), r in reasons.items() if function == "CreateOrderFunction")
    assert all(
        "once per deployment" in r for (_, function), r in reasons.items() if function == "PreTrafficHookFunction"
    )


def test_a_removed_fix_fails_where_the_resource_is_deployed(scanned: Scan) -> None:
    assert not scanned.ok
    assert ("CKV_AWS_21", "AWS::S3::Bucket.FisConfigBucket") in _unanswered(scanned, "no-versioning")
    # Production has no fault-injection bucket, so nothing to find there.
    assert _unanswered(scanned, "prod-no-versioning") == set()


def test_an_answer_without_its_reason_fails(scanned: Scan) -> None:
    assert _unanswered(scanned, "no-reason") == {("CKV_AWS_117", "AWS::Serverless::Function.CreateOrderFunction")}


def test_every_environment_is_scanned_with_the_key_as_set_and_flipped() -> None:
    chosen = views()

    assert set(chosen) == {f"{env}-{key}" for env in ("dev", "staging", "prod") for key in ("key", "nokey")}
    assert all(("DataKey" in view["Resources"]) == name.endswith("-key") for name, view in chosen.items())
    # checkov decides conditions from the defaults: each view's defaults are its own values.
    assert chosen["prod-key"]["Parameters"]["CustomerManagedKey"]["Default"] == "true"
    assert chosen["prod-nokey"]["Parameters"]["StageName"]["Default"] == "prod"


def test_a_skip_checkov_fills_in_without_a_comment_is_not_an_answer() -> None:
    assert not Finding("v", "CKV_AWS_1", "R", "t", "No comment provided").answered
    assert not Finding("v", "CKV_AWS_1", "R", "t", "  ").answered
    assert not Finding("v", "CKV_AWS_1", "R", "t", None).answered
    assert Finding("v", "CKV_AWS_1", "R", "t", "why").answered
