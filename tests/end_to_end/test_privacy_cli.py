"""``synthdb train --epsilon`` then ``synthdb privacy``: the ledger a user sees, end to end.

The sample is 600 rows, too few for epsilon 1 (the CLI says epsilon 6.6 would do), so 8.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import assert_one_line_error, run_cli


def test_train_with_a_budget_then_print_the_ledger(adult_csv: Path, tmp_path: Path) -> None:
    model = tmp_path / "dp.synthdb"
    trained = run_cli(
        "train", adult_csv, "-o", model, "--epsilon", "8", "--max-epochs", "2", "--nulls", "keep"
    )
    assert trained.code == 0, trained
    assert "epsilon spent" in trained.stderr

    shown = run_cli("privacy", model)
    assert shown.code == 0, shown
    assert "assumed public" in shown.stdout and "model weights" in shown.stdout
    assert "total epsilon" in shown.stdout and "of the 8 budgeted" in shown.stdout

    as_json = run_cli("privacy", model, "--json")
    assert as_json.code == 0, as_json
    ledger = json.loads(as_json.stdout)
    assert ledger["total_epsilon"] <= 8.0
    assert abs(ledger["recomputed_total_epsilon"] - ledger["total_epsilon"]) < 1e-9
    sgd = next(e for e in ledger["entries"] if e["mechanism"] == "dp-sgd")
    assert {"noise_multiplier", "sample_rate", "steps", "delta", "epsilon", "accountant"} <= set(
        sgd
    )

    assert "post-processing" in shown.stdout  # the heads raked to the DP counts, epsilon 0

    inspected = run_cli("inspect", model)
    assert inspected.code == 0, inspected
    assert "accuracy nan" not in inspected.stdout  # no validation under DP, none shown
    assert "differential privacy: epsilon" in inspected.stdout
    assert "(DP estimate)" in inspected.stdout

    generated = run_cli("generate", model, "-o", tmp_path / "out.csv", "--rows", "100")
    assert generated.code == 0, generated


def test_privacy_of_a_model_trained_without_dp_is_a_one_line_error(
    adult_model_file: Path,
) -> None:
    result = run_cli("privacy", adult_model_file)
    assert_one_line_error(result, 2, "without differential privacy")


def test_a_bad_noise_multiplier_is_a_usage_error(adult_csv: Path, tmp_path: Path) -> None:
    result = run_cli(
        "train",
        adult_csv,
        "-o",
        tmp_path / "m.synthdb",
        "--epsilon",
        "1",
        "--noise-multiplier",
        "lots",
    )
    assert_one_line_error(result, 2, "--noise-multiplier")


def test_run_with_a_budget_and_dropped_nulls_scores_against_the_rows_it_learned(
    adult_csv: Path, tmp_path: Path
) -> None:
    """Under DP the NULL report keeps no exact counts; the score must still leave out the
    rows with NULLs that the model never saw (it once compared against all of them)."""
    result = run_cli(
        "run", adult_csv, "-o", tmp_path / "out.csv", "--epsilon", "8", "--max-epochs", "2",
        "--nulls", "drop",
    )  # fmt: skip
    assert result.code == 0, result
    assert "source rows without NULL" in result.stderr
    assert "rows with a NULL removed, about" in result.stderr
    assert "removed 0 of" not in result.stderr
