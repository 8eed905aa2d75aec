"""Ctrl-C, sent for real to a running ``synthdb``: a complete model or nothing, never a part.

Each test waits until the process says it has reached the stage to interrupt, then sends SIGINT
exactly as a terminal does on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

from cli_harness import TIMEOUT, Result, adult_sample, environment

# The CLI as an interactive shell starts it. A process started in the background by a script
# inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt: restore it.
_WITH_CTRL_C = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from synthdb.cli.app import main; main()"
)


def command(*args: object) -> list[str]:
    return [sys.executable, "-c", _WITH_CTRL_C, *(str(arg) for arg in args)]


class Watched:
    """A running CLI whose stderr is collected as it comes, optionally through a terminal."""

    def __init__(self, *args: object, cwd: Path, terminal: bool = False) -> None:
        self.args = tuple(str(arg) for arg in args)
        self._chunks: list[bytes] = []
        self._changed = threading.Condition()
        if terminal:  # rich draws its live progress bars only on a terminal
            reader, writer = pty.openpty()
            stderr: int = writer
        else:
            reader, writer = os.pipe()
            stderr = writer
        self.process = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=environment(TERM="xterm-256color") if terminal else environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        os.close(writer)
        self._thread = threading.Thread(target=self._read, args=(reader,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a terminal reports its closing as EIO
                chunk = b""
            with self._changed:
                if chunk:
                    self._chunks.append(chunk)
                self._changed.notify_all()
            if not chunk:
                os.close(fd)
                return

    @property
    def stderr(self) -> str:
        with self._changed:
            return b"".join(self._chunks).decode("utf-8", "replace").replace("\r\n", "\n")

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in b"".join(self._chunks).decode("utf-8", "replace"):
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, (
                    f"never printed {text!r}:\n{self.stderr}"
                )
                self._changed.wait(min(left, 0.5))

    def __enter__(self) -> Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        """A failed test must not leave its CLI running for minutes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self) -> Result:
        stdout, _ = self.process.communicate(timeout=TIMEOUT)
        self._thread.join(timeout=TIMEOUT)
        code = self.process.returncode
        return Result(self.args, code, stdout.decode("utf-8", "replace"), self.stderr)


def _wait_for_file(folder: Path, pattern: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        assert time.monotonic() < deadline, f"no {pattern} appeared in {folder}"
        time.sleep(0.01)


def test_ctrl_c_before_the_first_epoch_ends_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    # Setup: enough rows and small enough batches that the first epoch takes seconds
    source = adult_sample(data_dir, 5000)
    model = tmp_path / "m.synthdb"

    # Run
    with Watched(
        "train", source, "-o", model, "--batch-size", 16, "--max-epochs", 3, cwd=tmp_path
    ) as cli:
        cli.wait_for("training: up to")
        cli.interrupt()
        result = cli.finish()

    # Assert
    assert result.code == 130, result
    assert "Traceback" not in result.stderr, result
    assert result.lines[-1] == "interrupted (Ctrl-C): nothing was written", result
    assert "epoch   1" not in result.stderr, "the interrupt came too late to test this"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_after_an_epoch_saves_the_best_epoch(adult_csv: Path, tmp_path: Path) -> None:
    # Setup: training that would go on for a long time, on a terminal to see the progress bar
    model = tmp_path / "m.synthdb"

    # Run
    with Watched(
        "train", adult_csv, "-o", model, "--max-epochs", 1000, "--patience", 1000,
        cwd=tmp_path, terminal=True,
    ) as cli:  # fmt: skip
        cli.wait_for("  epoch   1 ")
        cli.interrupt()
        result = cli.finish()

    # Assert
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    assert "stopped: interrupted after" in result.stderr
    assert f"saved model to {model}" in result.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)  # without cursor moves, styles
    assert re.search(r"training .*epoch \d+/1000 loss [\d.]+.* left at most", screen), (
        f"no progress bar with epoch, loss and time left on a terminal:\n{screen!r}"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.synthdb"]
    with zipfile.ZipFile(model) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["stop_reason"] == "interrupted"
    assert manifest["training"]["best_epoch"] >= 1


def test_ctrl_c_during_generation_leaves_no_partial_file(
    adult_model_file: Path, tmp_path: Path
) -> None:
    # Setup: far more rows than can be written before the interrupt
    output = tmp_path / "synthetic.csv"

    # Run: interrupt once the temporary file is being written
    with Watched(
        "generate", adult_model_file, "-o", output, "--rows", 5_000_000, cwd=tmp_path
    ) as cli:
        cli.wait_for("generating 5,000,000 rows")
        _wait_for_file(tmp_path, ".synthetic.csv.*.tmp")
        cli.interrupt()
        result = cli.finish()

    # Assert
    assert result.code == 130, result
    assert "Traceback" not in result.stderr, result
    assert result.lines[-1] == "interrupted (Ctrl-C): nothing was written", result
    assert list(tmp_path.iterdir()) == []
