"""Process-wide test environment: a fake AWS account and region, never a real one."""

from __future__ import annotations

import os

from tests.support import shared_loader

for _name, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)
for _name in (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
):
    os.environ.pop(_name, None)

# Before any test module's import builds clients (the handler's does): botocore's models are
# parsed once per test process, not once per test (tests/support/shared_loader.py).
shared_loader.install()
