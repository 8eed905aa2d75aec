"""The report's model section, read from a real model file and from hand-made manifests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthdb.config import TrainingConfig
from synthdb.report.html import _training_section
from synthdb.report.model import (
    epsilon_by_epoch,
    ledger_entries,
    model_summary,
    summary_from_manifest,
)
from synthdb.synthesizer import Synthesizer


def test_a_saved_model_gives_its_parameters_history_and_null_policy(
    adult_model: Synthesizer, tmp_path: Path
) -> None:
    path = tmp_path / "m.synthdb"
    adult_model.save(path)

    summary = model_summary(path)

    assert summary["path"] == str(path)
    assert summary["epochs_used"] == 2 and summary["max_epochs"] == 2
    assert summary["stop_reason"] == "max epochs"
    assert [r["epoch"] for r in summary["history"]] == [1, 2]
    assert summary["parameters"]["nulls"] == "keep"
    assert summary["nulls"]["policy"] == "keep"
    assert summary["privacy"] is None and summary["epsilon_by_epoch"] is None


def test_epsilon_per_epoch_comes_from_the_history_or_else_the_ledger() -> None:
    history = [{"epoch": 1, "epsilon": 0.4}, {"epoch": 2, "epsilon": 0.7}]
    ledger = {
        "ledger": [
            {"mechanism": "vocabulary", "epsilon": 0.1},  # no epoch: not a point of the curve
            {"mechanism": "dp-sgd", "epoch": 2, "epsilon": 0.9},
            {"mechanism": "dp-sgd", "epoch": 1, "epsilon": 0.5},
        ]
    }

    assert epsilon_by_epoch(history, ledger) == [[1.0, 0.4], [2.0, 0.7]]
    assert epsilon_by_epoch([{"epoch": 1}], ledger) == [[1.0, 0.5], [2.0, 0.9]]
    assert epsilon_by_epoch([{"epoch": 1}], None) is None


def test_a_manifest_with_a_privacy_block_passes_it_through_unchanged() -> None:
    privacy = {"epsilon": 1.0, "delta": 1e-6, "ledger": [{"mechanism": "x", "epsilon": 1.0}]}
    manifest = {
        "config": {"max_epochs": 3},
        "training": {"epochs": [], "best_epoch": 0, "best_accuracy": -1.0, "seconds": 0.0},
        "stop_reason": "epsilon spent",
        "nulls": {"policy": "drop", "rows_before": 10, "rows_after": 9, "rows_dropped": 1},
        "privacy": privacy,
    }

    summary = summary_from_manifest(manifest)

    assert summary["privacy"] == privacy
    assert summary["stop_reason"] == "epsilon spent"


def test_a_model_trained_with_differential_privacy_shows_its_ledger_and_epsilon_curve(
    adult_sample: pd.DataFrame, tmp_path: Path
) -> None:
    config = TrainingConfig(
        max_epochs=2, batch_size=512, hidden=16, embedding_dim=4, nulls="keep", seed=3, epsilon=5
    )
    columns = ["age", "workclass", "sex", "income"]
    path = tmp_path / "dp.synthdb"
    Synthesizer(config).fit(adult_sample[columns]).save(path)

    summary = model_summary(path)

    assert summary["privacy"] is not None
    entries = ledger_entries(summary["privacy"])
    assert entries and all("mechanism" in entry for entry in entries)
    curve = summary["epsilon_by_epoch"]
    assert curve is not None and [epoch for epoch, _ in curve] == [1.0, 2.0]
    assert 0 < curve[0][1] < curve[1][1] <= 5.0  # spent grows, never past the budget
    page = _training_section({"model": summary})
    assert "Epsilon ledger" in page and entries[0]["mechanism"] in page
