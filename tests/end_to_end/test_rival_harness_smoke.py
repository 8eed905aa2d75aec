"""Smoke run of the rival side-by-side harness, so that benchmarks/ cannot rot unnoticed.

The full benchmark trains every rival on all of Adult for hours and needs the benchmark venvs;
here the driver runs its ``--smoke`` path (400 rows of the bundled Adult, one epoch) with an
empty ``--venv-root``: every rival must then be recorded as skipped with its reason, synthdb
must run end to end through measure.py and referee.py, and the referee falls back to synthdb's
own measures because the project's ``.venv`` has no mostlyai-qa.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "benchmarks" / "adult_side_by_side.py"
TOOLS = "synthdb,mostlyai-dp1,sdv-ctgan,smartnoise-aim-dp4"


def _in_unit_interval(value: Any) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """Run the driver once; return its results JSON and what it printed."""
    work = tmp_path_factory.mktemp("rival_smoke")
    out = work / "results.json"
    command = [sys.executable, str(DRIVER), "--smoke", "--skip-setup", "--tools", TOOLS]
    command += ["--work-dir", str(work), "--venv-root", str(work / "no-venvs"), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_split_is_the_seeded_80_20_cut_of_the_first_rows(smoke: tuple[dict, str]) -> None:
    results, _ = smoke
    assert results["dataset"]["limit"] == 400
    assert (results["dataset"]["train_rows"], results["dataset"]["holdout_rows"]) == (320, 80)
    assert results["method"]["generate_rows"] == 320


@pytest.mark.slow
def test_synthdb_is_trained_generated_and_scored(smoke: tuple[dict, str]) -> None:
    results, _ = smoke
    entry = next(e for e in results["tools"] if e["key"] == "synthdb")
    assert entry["status"] == "ok", entry.get("reason")
    assert entry["generate_rows"] == 320
    assert entry["train_seconds"] > 0 and entry["generate_seconds"] > 0
    assert entry["train_peak_mb"] > 0
    referee = entry["referee"]
    assert referee["referee"].startswith("fallback: synthdb.evaluation")
    assert referee["rows"] == {"train": 320, "holdout": 80, "synthetic": 320}
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        assert _in_unit_interval(referee["accuracy"][key]), key
    assert _in_unit_interval(referee["tstr"]["auc_synthetic"])
    assert _in_unit_interval(referee["distances"]["dcr_share"])
    quality = referee["sdmetrics"]
    assert quality["score"] is None or _in_unit_interval(quality["score"])
    assert _in_unit_interval(results["real_reference"]["tstr_auc_real"])


@pytest.mark.slow
def test_missing_rival_venvs_are_skipped_with_the_reason(smoke: tuple[dict, str]) -> None:
    results, _ = smoke
    entries = {e["key"]: e for e in results["tools"]}
    expected = {
        "mostlyai-dp1": ".bench-venv",
        "sdv-ctgan": ".bench-venv-sdv",
        "smartnoise-aim-dp4": ".bench-venv-smartnoise",
    }
    for key, venv in expected.items():
        assert entries[key]["status"] == "skipped"
        assert f"{venv} is missing" in entries[key]["reason"]
    assert entries["mostlyai-dp1"]["epsilon"] == 1
    assert entries["smartnoise-aim-dp4"]["epsilon"] == 4


@pytest.mark.slow
def test_the_markdown_table_lists_every_tool(smoke: tuple[dict, str]) -> None:
    _, printed = smoke
    assert "| tool | settings | epsilon | train s |" in printed
    assert "SDMetrics quality" in printed and "DCR share" in printed
    for key in TOOLS.split(",")[1:]:
        assert f"| {key} | skipped:" in printed
