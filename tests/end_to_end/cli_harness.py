"""Running the real ``synthdb`` command in subprocesses, on the bundled Adult census data.

Every CLI start pays for importing pandas (and PyTorch when a model is involved), so runs that
do not depend on each other are started in the background on a small thread pool and the tests
collect their results; the suite's wall time is then close to its CPU time divided by the cores.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
ADULT = REPO / "data" / "adult.csv.gz"
#: Generous: a loaded CI machine may be several times slower than a laptop.
TIMEOUT = 600
#: Adult rows for the shared model: enough for every column to have several values.
ADULT_ROWS = 600


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "synthdb.cli.app", *(str(arg) for arg in args)]


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SYNTHDB_DEBUG", None)
    # A narrow console: an error that rich wrapped would show up as several lines.
    env.update({"COLUMNS": "80", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    # Runs go on side by side: one thread each keeps PyTorch from oversubscribing the cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The non-empty lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:
        return (
            f"synthdb {' '.join(self.args)}\nexit code {self.code}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def run_cli(*args: object, cwd: Path | None = None, timeout: float = TIMEOUT) -> Result:
    done = subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(),
        timeout=timeout,
        check=False,
    )
    return Result(tuple(str(a) for a in args), done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, code: int, *fragments: str) -> str:
    """Exit ``code``, exactly one line on stderr, no traceback, naming each fragment."""
    assert result.code == code, result
    assert len(result.lines) == 1, result
    line = result.lines[0]
    assert "Traceback" not in result.stderr, result
    assert line.startswith(("error: ", "interrupted")), result
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} missing\n{result}"
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden temporary files included) with its content."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Jobs:
    """CLI runs started in the background, each under a name, collected by the tests."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synthdb-cli")
        self._futures: dict[str, Future[Any]] = {}

    def start(self, name: str, work: Callable[[], Any]) -> Future[Any]:
        if name not in self._futures:
            self._futures[name] = self._pool.submit(work)
        return self._futures[name]

    def result(self, name: str, work: Callable[[], Any]) -> Any:
        return self.start(name, work).result(timeout=TIMEOUT)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@functools.cache
def adult() -> pd.DataFrame:
    """All of Adult as the text it is: no type guessing, empty fields stay empty."""
    return pd.read_csv(ADULT, dtype=str, keep_default_na=False)


def adult_sample(folder: Path, rows: int, columns: list[str] | None = None) -> Path:
    """A random sample of the real Adult rows, written back as the text it was."""
    name = f"adult_{rows}{'_' + str(len(columns)) if columns else ''}.csv"
    path = folder / name
    if not path.exists():
        sample = adult().sample(rows, random_state=0)
        (sample[columns] if columns else sample).to_csv(path, index=False)
    return path
