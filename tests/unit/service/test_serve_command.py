"""``synthdb serve`` as a command: its help, and the one-line error without the extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from synthdb.cli.app import main


def test_help_lists_the_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "synthdb.cli.app", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--data-dir", "--host", "--port", "--workers", "--state-url"):
        assert flag in result.stdout
    assert "127.0.0.1" in result.stdout


def test_without_the_extra_one_line_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(SystemExit) as ended:
        main(["serve", "--data-dir", "/nonexistent/never-made"])
    assert ended.value.code == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert error.startswith("error: synthdb serve needs uvicorn")
    assert "pip install 'synthdb[serve]'" in error
