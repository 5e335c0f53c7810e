"""A fixed amount of CPU-bound work, timed by the process doing it: the CPU share row's child.

    python -m benchmarks.spin ITERATIONS

A child of ``benchmarks.cpu_share``, speaking lines: it prints ``ready`` once its interpreter
is up, waits for ``go`` on stdin, runs the loop, and prints one JSON line, its wall and CPU
seconds for the loop alone. The wait lets the parent switch the group from the INIT's CPU to
the INVOKE's, and read its counters, between the start and the work.
"""

from __future__ import annotations

import json
import sys
import time


def spin(iterations: int) -> int:
    """Pure interpreter work, no allocation to speak of: the same CPU time wherever it runs."""
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def main(argv: list[str]) -> int:
    """Wait for ``go``, spin ``argv[0]`` iterations, print the loop's wall and CPU seconds."""
    iterations = int(argv[0])
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    wall, cpu = time.perf_counter(), time.process_time()
    spin(iterations)
    print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
