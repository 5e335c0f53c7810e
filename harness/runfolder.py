"""The run folder, spelled once: every file and sub-folder a run leaves under ``reports/``.

A run of the local stage (the main job, a chaos run, the soak, a benchmark, ``python -m
localstage``) gets ``reports/<time>-<kind>/`` (:meth:`RunFolder.new`); a run against a
deployed stack gets ``reports/<stack>/<run id>/``. Each file's name and each layout rule (how a
worker's log or a worker's ledger is named) lives here and nowhere else: writers and readers ask
a :class:`RunFolder` (or the folder classes under it) for their paths. Each one's docstring says
who writes it and who reads it.

Standard library only: Locust's processes and the audit import it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1] / "reports"
"""Where run folders go (git-ignored)."""
STAMP = "%Y%m%d-%H%M%S"
"""A run folder's time, as ``time.strftime`` writes it: sorts as it happened."""


def stamp() -> str:
    """Now, as a run folder's name starts."""
    return time.strftime(STAMP)


@dataclass(frozen=True)
class _Numbered:
    """Files named ``<prefix><key><suffix>`` in one folder: one per worker, per process, per group."""

    prefix: str
    suffix: str

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}{self.suffix}"

    def key(self, path: Path) -> str:
        """The key in ``path``'s name (the inverse of :meth:`name`)."""
        name = path.name
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)) or len(name) < len(self.name("")):
            raise ValueError(f"{name!r} is not named {self.name('<key>')!r}")
        return name[len(self.prefix) : len(name) - len(self.suffix)]

    def all(self, folder: Path) -> list[Path]:
        """Every such file in ``folder``, sorted by name."""
        return sorted(folder.glob(self.name("*")))


_WORKER_LOG = _Numbered("worker-", ".log")
_MOTO_LOG = _Numbered("moto-", ".log")
_REQUEST_LOG = _Numbered("requests-", ".jsonl")
_BENCH_LOG = _Numbered("bench-", ".log")
_LEDGER = _Numbered("ledger-", ".jsonl")
_WORKER_LEDGER = "worker-"
_WIDGET = _Numbered("", ".png")
_LEDGER_SPOOL = "ledger-spool"


def _index(number: int) -> str:
    return f"{number:03d}"


@dataclass(frozen=True)
class LogsFolder:
    """``logs/``: what the stage's processes print, one file per process."""

    path: Path

    def worker_log(self, index: int) -> Path:
        """Execution environment ``index``'s log: its runtime's output and Lambda's platform records.

        The environment's stdout and stderr (the handler's JSON logs and EMF, the runtime client's
        error records, the chaos journal) and, written by the stage's worker pool (``workers.py``)
        as Lambda writes them, its INIT_START/START/REPORT/INIT_REPORT records and, restored from
        a SnapStart snapshot, its RESTORE_START/RESTORE_REPORT (:mod:`harness.platform_log`); read by
        the dashboard (``runreport``), the chaos verdict (the injector's journal lines) and the
        tests. Environment 0 is the SnapStart snapshot's, when there is one: its init, and no request.
        """
        return self.path / _WORKER_LOG.name(_index(index))

    @staticmethod
    def worker_index(log: Path) -> int:
        """The environment whose log ``log`` is (the inverse of :meth:`worker_log`)."""
        key = _WORKER_LOG.key(log)
        if not key.isdigit():
            raise ValueError(f"{log.name!r} is not a worker's log: no index")
        return int(key)

    def worker_logs(self) -> list[Path]:
        """Every environment's log, in index order."""
        return _WORKER_LOG.all(self.path)

    def moto_log(self, group: str) -> Path:
        """Moto server ``group``'s own output; written by the stage's backend, read by people."""
        return self.path / _MOTO_LOG.name(group)

    def request_log(self, group: str) -> Path:
        """Moto server ``group``'s log of every AWS request (JSON lines); written by the backend."""
        return self.path / _REQUEST_LOG.name(group)

    def request_logs(self) -> list[Path]:
        """Every moto server's request log; read by the dashboard (DynamoDB's and SQS's metrics)."""
        return _REQUEST_LOG.all(self.path)

    def bench_log(self, kind: str) -> Path:
        """A benchmark load child's output (``kind``: backend, open-loop, locust); written by the benchmark's rows."""
        return self.path / _BENCH_LOG.name(kind)


@dataclass(frozen=True)
class LedgerFolder:
    """``ledger/``: the client's record of every request, one file per Locust process.

    Written by the locustfile (``loadtests.ledger``) and, in a distributed run, by the master
    for each worker (``loadtests.distributed``); read by the audit and the chaos verdict.
    """

    path: Path

    def process_ledger(self, pid: int) -> Path:
        """The ledger Locust process ``pid`` appends to."""
        return self.path / _LEDGER.name(str(pid))

    def worker_ledger(self, index: int) -> Path:
        """The master's copy of distributed worker ``index``'s ledger lines."""
        return self.path / _LEDGER.name(_WORKER_LEDGER + _index(index))

    @staticmethod
    def worker_index(ledger: Path) -> int:
        """The worker whose ledger ``ledger`` is (the inverse of :meth:`worker_ledger`)."""
        key = _LEDGER.key(ledger).removeprefix(_WORKER_LEDGER)
        if not key.isdigit() or not _LEDGER.key(ledger).startswith(_WORKER_LEDGER):
            raise ValueError(f"{ledger.name!r} is not a worker's ledger")
        return int(key)

    def ledgers(self) -> list[Path]:
        """Every ledger in the folder, a process's or a worker's, sorted by name."""
        return _LEDGER.all(self.path)

    @property
    def roster(self) -> Path:
        """A distributed run's roster: each worker's customers and whether its ledger arrived.

        Written by the master (``loadtests.distributed``), read by the audit (``loadtests.roster``).
        """
        return self.path / "workers.json"


@dataclass(frozen=True)
class DashboardFolder:
    """``dashboard/``: the run's CloudWatch dashboard, drawn from its own data by ``runreport.render``."""

    path: Path

    @property
    def page(self) -> Path:
        """The HTML page a person opens."""
        return self.path / "index.html"

    @property
    def image(self) -> Path:
        """Every widget on one image."""
        return self.path / "dashboard.png"

    @property
    def widgets_dir(self) -> Path:
        """One image per widget."""
        return self.path / "widgets"

    def widget(self, stem: str) -> Path:
        """The image of the widget called ``stem``."""
        return self.widgets_dir / _WIDGET.name(stem)

    def widget_images(self) -> list[Path]:
        """Every widget image drawn so far."""
        return _WIDGET.all(self.widgets_dir)

    @property
    def widgets(self) -> Path:
        """What was drawn where (JSON): the tests read it."""
        return self.path / "widgets.json"


@dataclass(frozen=True)
class BenchControl:
    """The closed-loop benchmark row's hand-shake with its Locust (``benchmarks.e2e_rows`` and ``locust_e2e``)."""

    path: Path

    @property
    def spawned(self) -> Path:
        """Locust has spawned every user; written by Locust, awaited by the row."""
        return self.path / "spawned"

    @property
    def go(self) -> Path:
        """The row's signal to start measuring; written by the row, awaited by Locust."""
        return self.path / "go"

    @property
    def result(self) -> Path:
        """Locust's figures for the window (JSON): written by Locust through :attr:`result_scratch`, read by the row."""
        return self.path / "result.json"

    @property
    def result_scratch(self) -> Path:
        """Where :attr:`result` is written before it is renamed into place, whole."""
        return self.path / "result.tmp"


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: ``RunFolder(path)``, or a fresh one from :meth:`new`."""

    path: Path

    @classmethod
    def new(cls, kind: str = "stage", reports: Path = REPORTS) -> RunFolder:
        """A fresh, empty ``<reports>/<time>-<kind>/`` (two started in the same second get ``-2``, ``-3``, ...)."""
        now = stamp()
        for attempt in range(1, 1000):
            name = f"{now}-{kind}" if attempt == 1 else f"{now}-{kind}-{attempt}"
            try:
                (reports / name).mkdir(parents=True, exist_ok=False)
            except FileExistsError:
                continue
            return RunFolder(reports / name)
        raise FileExistsError(f"no free run folder for {now}-{kind} in {reports}")

    @property
    def stage_file(self) -> Path:
        """The local stage's description (URL, names, client id, users).

        Written by the stage once it is up; read by Locust (``--stage-file``), the benchmarks'
        load children and the dashboard.
        """
        return self.path / "stage.json"

    @property
    def access_log(self) -> Path:
        """The gateway's access log (JSON lines, one per request); read by the dashboard and the benchmarks."""
        return self.path / "access.log"

    @property
    def billing(self) -> Path:
        """What Lambda bills each request for (JSON lines, :mod:`harness.billing`).

        Written by the stage's worker pool as each invocation ends; read by a cost report.
        """
        return self.path / "billing.jsonl"

    @property
    def logs_dir(self) -> Path:
        """The stage's process logs (:class:`LogsFolder`)."""
        return self.path / "logs"

    @property
    def logs(self) -> LogsFolder:
        """The files in :attr:`logs_dir`."""
        return LogsFolder(self.logs_dir)

    @property
    def messages(self) -> Path:
        """Every message the stage's consumer received from the queue; read by the audit and the dashboard."""
        return self.path / "messages.jsonl"

    @property
    def queues(self) -> Path:
        """The consumer's samples of the queues' depths; read by the dashboard and the benchmarks."""
        return self.path / "queues.jsonl"

    @property
    def ledger_dir(self) -> Path:
        """The run's ledgers (:class:`LedgerFolder`): Locust writes there unless told ``--ledger-dir``."""
        return self.path / "ledger"

    @property
    def ledger(self) -> LedgerFolder:
        """The files in :attr:`ledger_dir`."""
        return LedgerFolder(self.ledger_dir)

    def ledger_spool(self, worker: int | None = None) -> Path:
        """A distributed Locust worker's own copy of its ledger (the master's is in :attr:`ledger_dir`).

        ``worker``: its number among the workers the main job starts on this host; ``None`` for
        the one worker of a worker host.
        """
        return self.path / (_LEDGER_SPOOL if worker is None else f"{_LEDGER_SPOOL}-{worker}")

    @property
    def locust_csv(self) -> Path:
        """Locust's ``--csv`` prefix: it writes ``<prefix>_stats.csv`` and its siblings."""
        return self.path / "locust"

    @property
    def locust_stats(self) -> Path:
        """Locust's per-request-name figures; read by the main job's summary."""
        return self.locust_csv.with_name(self.locust_csv.name + "_stats.csv")

    @property
    def locust_history(self) -> Path:
        """Locust's aggregate figures each second of the run; read by the comparison's chart."""
        return self.locust_csv.with_name(self.locust_csv.name + "_stats_history.csv")

    @property
    def locust_html(self) -> Path:
        """Locust's HTML report."""
        return self.path / "locust.html"

    @property
    def slo_verdict(self) -> Path:
        """The SLO gate's verdict; written by the locustfile (``--verdict-file``), read by the summary."""
        return self.path / "slo.json"

    @property
    def summary(self) -> Path:
        """The figures a person reads first; written by the main job, read by the dashboard."""
        return self.path / "summary.json"

    @property
    def timeline(self) -> Path:
        """When the load ran and the chaos phases; written by the main job, read by the dashboard."""
        return self.path / "timeline.json"

    @property
    def audit(self) -> Path:
        """The audit's report; written by the audit (local or deployed), read by the dashboard."""
        return self.path / "audit.json"

    @property
    def cost(self) -> Path:
        """A deployed run's cost (JSON); written by the deployed runner (``run``, ``cost``), read by people.

        A local run's cost is in its summary.
        """
        return self.path / "cost.json"

    @property
    def compare_table(self) -> Path:
        """This run judged against a baseline, as Markdown; written by ``runreport.compare_cli``."""
        return self.path / "compare.md"

    @property
    def compare_chart(self) -> Path:
        """Both runs' latency over time and status mix, drawn; written by ``runreport.compare_cli``."""
        return self.path / "compare.png"

    @property
    def memory_samples(self) -> Path:
        """The environments' RSS, one JSON line per sample (``loadtests.memory.RssSample``); written by its sampler."""
        return self.path / "memory.jsonl"

    @property
    def memory(self) -> Path:
        """The RSS samples judged, per environment; written by the main job (the soak)."""
        return self.path / "memory.json"

    @property
    def chaos(self) -> Path:
        """A chaos run's per-phase report and verdict; written by the main job."""
        return self.path / "chaos.json"

    @property
    def dashboard_dir(self) -> Path:
        """The drawn dashboard (:class:`DashboardFolder`)."""
        return self.path / "dashboard"

    @property
    def dashboard(self) -> DashboardFolder:
        """The files in :attr:`dashboard_dir`."""
        return DashboardFolder(self.dashboard_dir)

    @property
    def bench_calls(self) -> Path:
        """The handler's SDK calls the backend row replays; written and read by ``benchmarks.e2e``."""
        return self.path / "calls.json"

    @property
    def bench_e2e(self) -> Path:
        """The end-to-end benchmark's report; written by ``benchmarks.e2e``."""
        return self.path / "e2e.json"

    @property
    def bench_control(self) -> BenchControl:
        """The closed-loop row's hand-shake folder (:class:`BenchControl`)."""
        return BenchControl(self.path / "bench-closed")

    @property
    def users_file(self) -> Path:
        """A deployed run's users ``[{username, password, customer_id}]``, as the locustfile logs in with."""
        return self.path / "users.json"

    @property
    def catalog_file(self) -> Path:
        """The catalog a deployed run ordered from, read from the stack's products table."""
        return self.path / "catalog.json"


def latest_before(run_dir: Path, kind: str = "load") -> RunFolder | None:
    """The newest ``<time>-<kind>`` run folder beside ``run_dir`` that is older than it and finished.

    Finished: it has its summary (a run killed half-way has none). Names sort as the runs
    started (:data:`STAMP`), so "older" is "sorts before". None when there is no such run.
    """
    mine = run_dir.resolve()
    earlier = [
        RunFolder(path)
        for path in mine.parent.glob(f"*-{kind}*")
        if path.name < mine.name and _kind(path.name) == kind and RunFolder(path).summary.is_file()
    ]
    return max(earlier, key=lambda folder: folder.path.name, default=None)


def _kind(name: str) -> str:
    """The kind in a run folder's name ``<date>-<time>-<kind>[-<n>]``."""
    parts = name.split("-")
    kind = parts[2:]
    if len(kind) > 1 and kind[-1].isdigit():
        kind = kind[:-1]
    return "-".join(kind)


def bench_report(reports: Path = REPORTS) -> Path:
    """Where ``tox -e bench`` writes its figures unless told ``--json``: ``<reports>/bench-<time>.json``."""
    return reports / f"bench-{stamp()}.json"
