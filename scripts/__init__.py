"""Project tooling run by tox (not part of the Lambda package)."""
