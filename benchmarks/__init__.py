"""Benchmarks: figures measured side by side with their references (``tox -e bench``); not tests."""
