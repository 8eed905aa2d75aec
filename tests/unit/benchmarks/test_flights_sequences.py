"""The flights sequences driver's own logic (benchmarks/flights_sequences.py), without the venvs:
the split by plane, the bar, the side-by-side verdict and the merge that keeps a tool not run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import flights_sequences as fs


def _flights(path: Path, planes: int = 12) -> Path:
    """A tiny flights CSV: planes with 1-4 flights each, rows out of time order, a NULL."""
    rows = []
    for i in range(planes):
        for j in range(i % 4 + 1):
            hour = f"2013-01-0{4 - j}T1{j}:00:00Z"
            rows.append(
                {"dep_time": "" if i == 0 else "517", fs.KEY: f"N{i:03d}", "time_hour": hour}
            )
    rows.append({"dep_time": "600", fs.KEY: "", "time_hour": "2013-01-01T05:00:00Z"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_split_draws_planes_whole_and_sorts_each_plane_by_time(tmp_path: Path) -> None:
    source = _flights(tmp_path / "flights.csv")
    setup = fs.split(source, tmp_path / "work", planes=10)
    train = pd.read_csv(tmp_path / "work" / "flights_train.csv", dtype=str, keep_default_na=False)
    holdout = pd.read_csv(
        tmp_path / "work" / "flights_holdout.csv", dtype=str, keep_default_na=False
    )
    assert (setup["train_planes"], setup["holdout_planes"]) == (8, 2)
    assert setup["source_planes"] == 12 and setup["rows_without_tailnum"] == 1
    assert not set(train[fs.KEY]) & set(holdout[fs.KEY])
    assert "" not in set(train[fs.KEY]) | set(holdout[fs.KEY])
    for frame in (train, holdout):
        for _, plane in frame.groupby(fs.KEY):
            assert plane["time_hour"].is_monotonic_increasing
    # values are kept as text: "517" stays "517", NULL stays empty
    assert set(pd.concat([train, holdout])["dep_time"]) <= {"517", ""}
    # the same seed draws the same planes
    again = fs.split(source, tmp_path / "again", planes=10)
    assert again["train_sha256"] == setup["train_sha256"]


def _referee(overall: float, overall_max: float, coherence: float, ceiling: float) -> dict:
    accuracy = {
        "overall": overall,
        "overall_max": overall_max,
        "coherence": coherence,
        "coherence_max": ceiling,
    }
    return {"accuracy": accuracy, "distances": {"dcr_share": 0.5, "ims_training": 0.0}}


def test_headline_measures_the_gaps_to_the_ceilings() -> None:
    inside = fs.headline(_referee(0.83, 0.85, 0.90, 0.92))
    assert inside["accuracy_gap"] == 0.02 and inside["accuracy_within_bar"]
    assert inside["coherence_within_bar"] and inside["dcr_share"] == 0.5
    outside = fs.headline(_referee(0.78, 0.85, 0.90, 0.92))
    assert not outside["accuracy_within_bar"] and outside["coherence_within_bar"]


def _entry(coherence: float, seconds: float, split: str = "s") -> dict:
    return {
        "status": "ok",
        "train_seconds": seconds,
        "split_sha256": split,
        **fs.headline(_referee(0.84, 0.85, coherence, 0.92)),
    }


def test_comparison_needs_coherence_time_and_the_same_split() -> None:
    rival = _entry(0.87, 1900.0)
    met = fs.comparison({"synthdb": _entry(0.90, 600.0), "mostlyai-engine": rival})
    assert met is not None and met["requirement_met"]
    slower = fs.comparison({"synthdb": _entry(0.90, 2000.0), "mostlyai-engine": rival})
    assert slower is not None and not slower["requirement_met"]
    other = fs.comparison({"synthdb": _entry(0.90, 600.0, "t"), "mostlyai-engine": rival})
    assert other is not None and not other["same_split"] and not other["requirement_met"]
    assert fs.comparison({"mostlyai-engine": rival}) is None


def test_a_skipped_synthdb_keeps_the_rival_and_the_table_says_why(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"tools": {"mostlyai-engine": {"status": "ok", "x": 1}}}))
    entries = fs.load_previous(out)
    assert entries == {"mostlyai-engine": {"status": "ok", "x": 1}}
    table = fs.markdown_table(
        {
            "tools": {"synthdb": {"status": "skipped", "reason": "no flags yet"}},
            "setup": {
                "train_planes": 8,
                "train_rows": 20,
                "holdout_planes": 2,
                "holdout_rows": 5,
                "split_sha256": "s",
            },
        }
    )
    assert "| synthdb | skipped: no flags yet |" in table
