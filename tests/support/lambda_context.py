"""A Lambda context object for tests: the local stage's own, which its environments use too."""

from __future__ import annotations

from loadtests.stage.lambda_context import FakeLambdaContext

__all__ = ["FakeLambdaContext"]
