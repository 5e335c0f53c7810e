"""The harness's ground floor: what the load tests, the dashboards, the benchmarks and the tests all read.

It imports nothing of theirs, so none of them has to import another to share a fact.
"""
