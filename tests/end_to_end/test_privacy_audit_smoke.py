"""Smoke run of the empirical privacy audit (benchmarks/privacy_audit.py), so it cannot rot.

The full audit trains dozens of models for about a quarter of an hour; here one seeded run per
setting (epsilon 8 and no DP) on 600 rows of the bundled Adult, 20 canaries, two epochs and a
few thousand generated rows. Also checked without training: the canary draw and the attack's
scores on hand-made generated rows, and the bound's arithmetic on figures known in closed form.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "privacy_audit.py"
ADULT = REPO / "data" / "adult.csv.gz"
sys.path.insert(0, str(REPO / "benchmarks"))

import audit_stats  # noqa: E402
import privacy_audit  # noqa: E402

ROW_KEYS = {
    "setting",
    "claimed_epsilon",
    "empirical_epsilon_lower_bound",
    "runs",
    "canaries",
    "guesses",
    "correct",
    "confidence",
    "delta",
    "k_in_per_run",
    "k_out_per_run",
    "choices_tested",
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("privacy_audit") / "audit.json"
    command = [sys.executable, str(SCRIPT), "--train", str(ADULT), "--settings", "8", "none"]
    command += ["--runs", "1", "--rows", "600", "--canaries", "20", "--samples", "5000"]
    command += ["--epochs", "2", "--workers", "1", "--seed", "3", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_one_row_per_setting_with_every_figure(smoke: tuple[dict, str]) -> None:
    report, printed = smoke
    rows = report["results"]
    assert [r["setting"] for r in rows] == ["8", "none"]
    for row in rows:
        assert set(row) >= ROW_KEYS
        assert row["runs"] == 1 and row["canaries"] == 20 and row["confidence"] == 0.95
        assert 0 <= row["correct"] <= row["guesses"] <= row["canaries"]
        assert row["guesses"] == row["k_in_per_run"] + row["k_out_per_run"]
        assert row["choices_tested"] == len(report["choices_per_run"]) == 5
        assert row["empirical_epsilon_lower_bound"] >= 0.0
    assert rows[0]["claimed_epsilon"] == 8.0 and rows[1]["claimed_epsilon"] is None
    table = [line for line in printed.splitlines() if line.startswith("|")]
    assert len(table) == 4 and table[0].startswith("| claimed epsilon | empirical lower bound")
    assert table[3].startswith("| no DP |")


@pytest.mark.slow
def test_dp_bound_stays_below_the_claim(smoke: tuple[dict, str]) -> None:
    report, _ = smoke
    dp = report["results"][0]
    assert dp["empirical_epsilon_lower_bound"] <= dp["claimed_epsilon"]
    assert dp["ledger_epsilon_max"] <= dp["claimed_epsilon"] + 1e-6
    assert 0.0 < dp["delta"] <= 1e-5


@pytest.mark.slow
def test_reported_bound_is_recomputed_from_the_saved_scores(smoke: tuple[dict, str]) -> None:
    report, _ = smoke
    for row in report["results"]:
        runs = [r for r in report["runs"] if r["setting"] == row["setting"]]
        pooled = [(np.asarray(r["scores"]), np.asarray(r["included"], bool)) for r in runs]
        assert all(len(s) == 20 and len(i) == 20 for s, i in pooled)
        again = privacy_audit.audit_bound_for(pooled, 20, row["delta"])
        assert round(again.epsilon_lower_bound, 3) == row["empirical_epsilon_lower_bound"]
        assert (again.guesses, again.correct) == (row["guesses"], row["correct"])


def test_bound_math_on_known_inputs() -> None:
    # every one of 10 guesses right: 0.741^10 = 0.05, epsilon = log(0.741 / 0.259) = 1.05
    assert audit_stats.epsilon_lower_bound(100, 10, 10, 0.0) == pytest.approx(1.0519, abs=1e-3)
    assert audit_stats.epsilon_lower_bound(1000, 100, 50, 1e-5) == 0.0
    assert privacy_audit.choices_for(200) == [(10, 0), (20, 0), (50, 0), (50, 50), (100, 100)]


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(privacy_audit.KEYS))


def test_scores_count_exact_then_near_matches_in_the_models_vocabulary() -> None:
    canaries = _frame(
        [
            (30, 13, 45, "Female", "Never-married", "<=50K"),
            (50, 9, 60, "Male", "Married-civ-spouse", "<=50K"),
            (25, 16, 33, "Male", "Never-married", ">50K"),
        ]
    )
    generated = _frame(
        [(30, 13, 45, "Female", "Never-married", "<=50K")] * 3  # canary 0, three times
        + [(50, 9, 61, "Male", "Married-civ-spouse", "<=50K")] * 2  # canary 1, one miss
        + [(25, 16, 33, "Male", "Never-married", "_RARE_")]  # canary 2: >50K not producible
        + [(40, 10, 40, "Male", "Married-civ-spouse", "<=50K")] * 4
    )
    scores, produced = privacy_audit.score_canaries(generated, canaries)
    assert np.floor(scores).tolist() == [3.0, 0.0, 1.0]
    assert 0 < scores[1] < 1  # two near matches, no exact one
    assert scores[0] == 3 and scores[2] == 1  # no row misses either on one column only
    # never generated: canary 1's 60 hours (numeric, no placeholder) and canary 2's >50K
    assert produced == pytest.approx(16 / 18)


def test_canaries_are_common_values_in_combinations_the_data_lacks() -> None:
    frame = pd.read_csv(ADULT, keep_default_na=False, na_values=[""]).dropna()
    frame = frame.head(2000).reset_index(drop=True)
    base, donors = frame.iloc[:1000], frame.iloc[1000:]
    canaries = privacy_audit.draw_canaries(base, donors, 100, np.random.default_rng(0))
    assert len(canaries) == 100 and list(canaries.columns) == list(frame.columns)
    keys = privacy_audit._keys(canaries)
    assert keys.is_unique and not keys.isin(set(privacy_audit._keys(base))).any()
    assert canaries["age"].between(20, 60).all()
    assert canaries["education_num"].between(8, 16).all()
    assert canaries["hours_per_week"].between(32, 64).all()
    assert set(canaries["marital_status"]) <= set(privacy_audit.MARITAL)
    for column in ("sex", "marital_status", "income", "occupation", "workclass"):
        assert canaries[column].isin(set(base[column])).all()  # no brand-new category


def test_canary_subjects_are_new_alike_and_common() -> None:
    rng = np.random.default_rng(0)
    _, invoices = privacy_audit._shop(300, rng)
    canaries = privacy_audit.draw_canary_subjects(invoices, 10, rng)
    assert len(canaries) == 10 * privacy_audit.CANARY_INVOICES
    combos = privacy_audit._combos(canaries)
    # each canary's invoices share one combination, found in no base invoice nor other canary
    assert (canaries.assign(c=combos).groupby("canary")["c"].nunique() == 1).all()
    assert combos.drop_duplicates().size == 10
    assert not combos.isin(set(privacy_audit._combos(invoices))).any()
    assert set(canaries["product"]) <= set(invoices["product"])


@pytest.mark.slow
def test_the_subject_audit_runs(tmp_path: Path) -> None:
    out = tmp_path / "subjects.json"
    command = [sys.executable, str(SCRIPT), "--subjects", "--settings", "8", "--runs", "1"]
    command += ["--rows", "300", "--canaries", "10", "--samples", "3000", "--epochs", "2"]
    command += ["--workers", "1", "--seed", "3", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    row = json.loads(out.read_text())["results"][0]
    assert row["claimed_epsilon"] == 8.0 and row["ledger_epsilon_max"] <= 8.0 + 1e-6
    assert row["empirical_epsilon_lower_bound"] <= 8.0
