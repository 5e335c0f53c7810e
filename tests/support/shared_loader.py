"""One botocore data loader for every session the in-process tests build.

The function builds its clients from a new botocore session (``build_clients``), as it does
once per execution environment in Lambda; the tests build them per test, and so the fixtures
spent most of each test's setup parsing botocore's JSON models (the DynamoDB and SQS service
models, their endpoint rule sets, ``endpoints.json``) afresh: ~0.15 s of a ~0.2 s setup. A
loader caches what it parsed, but per session. Here every session made while the tests run
gets the one loader (per data path), so each file is parsed once per test process.

The clients are built as before, from the same models and through the same code: only
where the parsed models come from changes. botocore never writes to a model it loaded (one
session's clients already share them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import botocore.loaders
import botocore.session

if TYPE_CHECKING:
    from collections.abc import Callable

_original: Callable[..., botocore.loaders.Loader] | None = None
_loaders: dict[str | None, botocore.loaders.Loader] = {}


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    loader = _loaders.get(search_path_string)
    if loader is None:
        assert _original is not None
        loader = _loaders[search_path_string] = _original(search_path_string)
    return loader


def install() -> None:
    """Make every botocore session made from now on in this process share its data loader."""
    global _original  # noqa: PLW0603
    if _original is None:
        _original = botocore.session.create_loader
        botocore.session.create_loader = _shared_loader
