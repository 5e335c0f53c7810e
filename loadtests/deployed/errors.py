"""What the deployed-stage runner refuses: each is a message and exit status 2, never a traceback."""

from __future__ import annotations


class DeployedInputError(Exception):
    """Input the runner cannot act on (unknown stack, missing run folder, bad catalog file...)."""


class CatalogConflictError(DeployedInputError):
    """Products of the catalog are already in the table, and overwriting them was not asked for."""

    def __init__(self, table: str, existing: list[str], written: int = 0) -> None:
        self.existing = existing
        self.written = written
        done = "nothing written" if written == 0 else f"{written} products written before they appeared"
        super().__init__(
            f"{len(existing)} products already in {table}: {', '.join(existing)} ({done}; --overwrite replaces them)"
        )
