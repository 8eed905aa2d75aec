"""benchmarks/dp_study.py --smoke: the benchmark behind docs/study-*.png runs, in seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_harness import REPO, TIMEOUT, environment


def test_the_study_benchmark_smoke_run_publishes_json_and_plots(tmp_path: Path) -> None:
    script = REPO / "benchmarks" / "dp_study.py"
    done = subprocess.run(
        [sys.executable, str(script), "--smoke", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=TIMEOUT,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    published = tmp_path / "dp_study_smoke"
    summary = json.loads((published / "dp_study.json").read_text())
    assert set(summary["sweeps"]) == {"clip"}
    data = json.loads((published / "dp_study_clip.json").read_text())
    assert data["study"] == "clip" and data["settings"]["values"] == [0.5, 2.0]
    assert data["fits"] and data["ceiling"] is not None
    assert (published / "study-clip.png").read_bytes().startswith(b"\x89PNG")
