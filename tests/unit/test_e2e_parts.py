"""The end-to-end section's small parts: latency percentiles and the gateway's 201s it counts orders by."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.e2e_nothing_lost import statuses
from benchmarks.percentiles import percentiles


def test_percentiles_are_nearest_rank_and_zero_for_no_values() -> None:
    # Given latencies 1..100 ms, shuffled
    values = [float(v) for v in range(100, 0, -1)]

    # When their percentiles are taken
    figures = percentiles(values)

    # Then each is the value at its rank, not an interpolation
    assert figures == {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert percentiles([]) == {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}


def test_statuses_count_only_the_requests_that_arrived_in_the_window(tmp_path: Path) -> None:
    # Given an access log of four requests, at 1, 2, 3 and 4 s
    log = tmp_path / "access.log"
    entries = [(1.0, 201), (2.0, 201), (3.0, 500), (4.0, 201)]
    log.write_text("".join(json.dumps({"ts": ts, "status": status}) + "\n" for ts, status in entries))

    # When the window is [2, 4)
    counted = statuses(log, since=2.0, until=4.0)

    # Then the first and the last are left out: the window's start counts, its end does not
    assert counted == {201: 1, 500: 1}
    assert statuses(log)[201] == 3
