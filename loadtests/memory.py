"""The execution environments' RSS over a run, sampled (``harness.readings``) into ``memory.jsonl``.

A sampler thread writes one line per interval to the run folder's ``memory.jsonl``, an
:class:`RssSample` (when, in seconds from the sampler's start, and each process's RSS in KiB);
``loadtests.memory_judge`` reads the lines back and judges them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.readings import rss_kib

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path


@dataclass(frozen=True)
class RssSample:
    """One line of ``memory.jsonl``: ``t`` seconds from the sampler's start, each process's RSS in KiB."""

    t: float
    rss_kib: Mapping[int, int]

    def line(self) -> str:
        """The sample as its line (JSON, without the newline)."""
        return json.dumps({"t": self.t, "rss_kib": {str(pid): kib for pid, kib in self.rss_kib.items()}})

    @classmethod
    def read(cls, line: str) -> RssSample:
        """The sample ``line`` wrote."""
        document = json.loads(line)
        return cls(float(document["t"]), {int(pid): int(kib) for pid, kib in document["rss_kib"].items()})


@dataclass
class RssSampler:
    """Samples the RSS of the processes ``pids()`` names every ``interval_s`` into ``path``."""

    pids: Callable[[], Iterable[int]]
    path: Path
    interval_s: float = 15.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def start(self) -> RssSampler:
        """Take a sample now and every ``interval_s`` after, in a daemon thread."""
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def sample(self) -> None:
        """Append one sample now."""
        rss = {pid: kib for pid in self.pids() if (kib := rss_kib(pid)) is not None}
        sample = RssSample(round(time.monotonic() - self._started, 1), rss)
        with self.path.open("a") as out:
            out.write(sample.line() + "\n")

    def stop(self) -> None:
        """Stop sampling, after one last sample."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self.interval_s):
            self.sample()
