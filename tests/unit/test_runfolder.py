"""The run folder's layout: its rules hold, and its names are spelled in harness/runfolder.py alone."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

from harness import runfolder
from harness.runfolder import LedgerFolder, LogsFolder, RunFolder

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "harness" / "runfolder.py"

FILES = (
    "stage.json", "access.log", "messages.jsonl", "queues.jsonl", "locust.html", "locust_stats.csv", "slo.json",
    "summary.json", "timeline.json", "audit.json", "memory.jsonl", "memory.json", "chaos.json", "calls.json",
    "e2e.json", "users.json", "catalog.json", "workers.json", "index.html", "widgets.json", "dashboard.png",
    "result.json", "result.tmp", "worker-*.log", "moto-*.log", "requests-*.jsonl", "bench-*.log", "ledger-*.jsonl",
    "ledger-worker-*.jsonl", "bench-*.json", "billing.jsonl", "locust_stats_history.csv", "compare.md",
    "compare.png", "cost.json", runfolder.STAMP,
)  # fmt: skip
"""Names spelled in a run folder: found in any string of the code (``*`` stands for a placeholder)."""
FOLDERS = (
    "reports", "logs", "ledger", "ledger-spool", "dashboard", "widgets", "bench-closed",
    "locust", "spawned", "go",
)  # fmt: skip
"""Bare names: found where a string is a path's part (``x / "logs"``, ``Path("ledger")``)."""


def _text(node: ast.expr) -> str | None:
    """A string constant's text, an f-string's with ``*`` for each placeholder; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "*" for part in node.values)
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the module's, classes' and functions' docstrings (prose, not paths)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    found.add(id(statement.value))  # a docstring, or an attribute's docstring after it
    return found


def _pattern(name: str) -> re.Pattern[str]:
    body = re.escape(name).replace(r"\*", r"[\w*{}:-]*")
    return re.compile(rf"(?<![\w.-]){body}(?![\w-])")


def _path_parts(tree: ast.Module) -> set[int]:
    """The ids of nodes used as a path's part: either side of ``/``, or inside ``Path(...)``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found |= {id(node.left), id(node.right)}
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Path":
            found |= {id(inner) for argument in node.args for inner in ast.walk(argument)}
    return found


def spellings(source: str) -> list[tuple[int, str]]:
    """Every run-folder name ``source`` spells in its code: (line, name)."""
    tree = ast.parse(source)
    prose, parts = _docstrings(tree), _path_parts(tree)
    pieces = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        text = _text(node) if isinstance(node, ast.expr) and id(node) not in prose | pieces else None
        if text is None:
            continue
        found += [(node.lineno, name) for name in FILES if _pattern(name).search(text)]
        if id(node) in parts:
            found += [(node.lineno, name) for name in FOLDERS if text.strip("/") == name]
    return found


def _code() -> list[Path]:
    """Every module of the project's code (not its tests, not the function): every package at the top."""
    packages = [p.parent for p in ROOT.glob("*/__init__.py") if p.parent.name not in {"tests", "function"}]
    return sorted(path for package in packages for path in package.rglob("*.py"))


def test_the_code_spells_run_folder_names_only_in_runfolder() -> None:
    # Given every module of the code but harness/runfolder.py
    code = _code()
    assert HOME in code
    assert {p.parent.name for p in code} >= {"loadtests", "benchmarks", "runreport", "chaos", "harness", "scripts"}
    # When each is searched for a run folder's names in its strings
    found = [f"{p.relative_to(ROOT)}:{n}: {name!r}" for p in code if p != HOME for n, name in spellings(p.read_text())]
    # Then none spells one: they all ask RunFolder
    assert found == [], "run-folder names outside harness/runfolder.py:\n" + "\n".join(found)


def _layout(root: Path) -> list[Path]:
    """Every path RunFolder and the folders under it give, for a run folder under ``root``."""
    folder = RunFolder(root / "reports" / "run")
    paths = [getattr(folder, name) for name, value in vars(RunFolder).items() if isinstance(value, property)]
    logs, ledger, dashboard, control = folder.logs, folder.ledger, folder.dashboard, folder.bench_control
    return [
        *(p for p in paths if isinstance(p, Path)), folder.ledger_spool(), folder.ledger_spool(0),
        logs.worker_log(1), logs.moto_log("x"), logs.request_log("x"), logs.bench_log("x"),
        ledger.process_ledger(1), ledger.worker_ledger(1), ledger.roster,
        dashboard.page, dashboard.image, dashboard.widget("x"), dashboard.widgets,
        control.spawned, control.go, control.result, control.result_scratch, runfolder.bench_report(root / "reports"),
    ]  # fmt: skip


def test_the_search_looks_for_the_names_runfolder_gives(tmp_path: Path) -> None:
    # The search above is only as good as its list: every name in it is one RunFolder gives
    layout = _layout(tmp_path)
    names = {p.name for p in layout}
    parts = {part for p in layout for part in p.relative_to(tmp_path).parts}
    assert [f for f in FILES if f != runfolder.STAMP and not any(fnmatch(n, f) for n in names)] == []
    assert [f for f in FOLDERS if f not in parts] == []


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ('x = run_dir / "stage.json"', "stage.json"),
        ("x = f'{run_dir}/access.log'", "access.log"),
        ('x = logs.glob("worker-*.log")', "worker-*.log"),
        ('x = log_dir / f"worker-{index:03d}.log"', "worker-*.log"),
        ('x = run_dir / "logs"', "logs"),
        ('x = Path(options.ledger_dir or "ledger")', "ledger"),
        ('x = ROOT / "reports" / f"bench-{stamp}.json"', "reports"),
        ('x = f"<a href=\\"dashboard.png\\">"', "dashboard.png"),
    ],
)
def test_the_search_finds_a_name_however_spelled(source: str, name: str) -> None:
    assert name in {found for _, found in spellings(source)}


@pytest.mark.parametrize(
    "source",
    [
        '"""Writes stage.json and logs/."""',
        'state["ledger"] = 1',
        'help = "the stage file of a run"',
        'x = run_dir / "stage.jsonx"',
    ],
)
def test_the_search_leaves_prose_and_other_names_alone(source: str) -> None:
    assert spellings(source) == []


@pytest.mark.parametrize("index", [0, 7, 42, 999, 1000])
def test_a_workers_log_names_its_worker(tmp_path: Path, index: int) -> None:
    logs = LogsFolder(tmp_path)
    log = logs.worker_log(index)
    assert log.parent == tmp_path
    assert LogsFolder.worker_index(log) == index
    log.touch()
    assert logs.worker_logs() == [log]


def test_worker_logs_sort_in_index_order_and_leave_other_logs_out(tmp_path: Path) -> None:
    logs = LogsFolder(tmp_path)
    for path in (logs.worker_log(10), logs.worker_log(2), logs.moto_log("dynamodb"), logs.request_log("sqs")):
        path.touch()
    assert [LogsFolder.worker_index(p) for p in logs.worker_logs()] == [2, 10]
    assert logs.request_logs() == [logs.request_log("sqs")]


@pytest.mark.parametrize("name", ["moto-1.log", "worker-.log", "worker-x.log", "worker-001.jsonl", "xworker-001.log"])
def test_a_file_that_is_not_a_workers_log_has_no_index(name: str) -> None:
    with pytest.raises(ValueError, match="not"):
        LogsFolder.worker_index(Path(name))


def test_every_ledger_is_read_a_processs_and_a_workers(tmp_path: Path) -> None:
    ledger = LedgerFolder(tmp_path)
    paths = [ledger.process_ledger(4242), ledger.worker_ledger(3), ledger.roster]
    for path in paths:
        path.touch()
    assert set(ledger.ledgers()) == set(paths[:2])
    assert LedgerFolder.worker_index(ledger.worker_ledger(3)) == 3
    with pytest.raises(ValueError, match="not a worker's"):
        LedgerFolder.worker_index(ledger.process_ledger(4242))


def test_new_run_folders_are_fresh_and_unique_per_kind(tmp_path: Path) -> None:
    # Given several runs of two kinds started in the same second (or near it)
    made = [RunFolder.new(kind, tmp_path) for kind in ("load", "load", "chaos", "load", "chaos")]
    # Then each got its own empty folder under reports, named <time>-<kind>[-n]
    assert len({f.path for f in made}) == len(made)
    assert all(f.path.parent == tmp_path and f.path.is_dir() and not any(f.path.iterdir()) for f in made)
    for folder, kind in zip(made, ("load", "load", "chaos", "load", "chaos"), strict=True):
        assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{kind}(-\d+)?", folder.path.name)


def test_a_run_folders_files_are_distinct_and_inside_it(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    paths = [getattr(folder, name) for name, value in vars(RunFolder).items() if isinstance(value, property)]
    files = [p for p in paths if isinstance(p, Path)]
    files += [folder.ledger_spool(), folder.ledger_spool(0), folder.ledger_spool(1), folder.dashboard.page]
    assert len(set(files)) == len(files)
    assert all(p.is_relative_to(folder.path) for p in files)
    assert folder.locust_stats.parent == folder.locust_csv.parent


def _finished(reports: Path, name: str) -> Path:
    folder = RunFolder(reports / name)
    folder.path.mkdir(parents=True)
    folder.summary.write_text("{}")
    return folder.path


def test_latest_before_is_the_newest_older_finished_run_of_the_kind(tmp_path: Path) -> None:
    # Given load runs (one a second start in its second), a chaos run, an unfinished load run and a newer one
    _finished(tmp_path, "20261207-090000-load")
    wanted = _finished(tmp_path, "20261207-100000-load-2")
    _finished(tmp_path, "20261207-103000-chaos")
    _finished(tmp_path, "20261207-103000-load-test")
    RunFolder(tmp_path / "20261207-104000-load").path.mkdir()
    mine = _finished(tmp_path, "20261207-110000-load")
    _finished(tmp_path, "20261207-120000-load")
    # When the latest load run before mine is asked for
    found = runfolder.latest_before(mine)
    # Then it is the newest finished load run that started before mine
    assert found is not None
    assert found.path == wanted


def test_latest_before_the_first_run_is_none(tmp_path: Path) -> None:
    assert runfolder.latest_before(_finished(tmp_path, "20261207-110000-load")) is None
