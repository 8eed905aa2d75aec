"""``synthdb generate --given/--rebalance`` and ``synthdb impute`` on the shared Adult model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from cli_harness import adult, assert_one_line_error, run_cli


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_given_rows_keep_their_values(adult_model_file: Path, tmp_path: Path) -> None:
    # Setup: 40 real rows' income and sex, one of them empty (NULL)
    seed = adult().sample(40, random_state=3)[["income", "sex"]].reset_index(drop=True)
    seed.loc[5, "sex"] = ""
    seed.to_csv(tmp_path / "seed.csv", index=False)

    # Run
    result = run_cli(
        "generate", adult_model_file, "-o", tmp_path / "out.csv", "--given", tmp_path / "seed.csv"
    )

    # Assert: one row per given row, the given values as written, every column present
    assert result.code == 0, result
    rows = _read(tmp_path / "out.csv")
    assert len(rows) == 40
    assert rows[["income", "sex"]].equals(seed)
    assert list(rows.columns) == list(adult().columns)


def test_rebalance_sets_the_share(adult_model_file: Path, tmp_path: Path) -> None:
    result = run_cli(
        "generate",
        adult_model_file,
        "-o",
        tmp_path / "out.csv",
        "--rows",
        200,
        "--rebalance",
        "income=>50K:0.5",
    )
    assert result.code == 0, result
    assert (_read(tmp_path / "out.csv")["income"] == ">50K").sum() == 100


def test_impute_fills_nulls_and_keeps_the_rest(adult_model_file: Path, tmp_path: Path) -> None:
    real = adult().sample(60, random_state=4).reset_index(drop=True)
    holes = real.copy()
    holes.loc[::2, "age"] = ""
    holes.loc[1::3, "workclass"] = ""
    holes.to_csv(tmp_path / "holes.csv", index=False)

    result = run_cli("impute", adult_model_file, tmp_path / "holes.csv", "-o", tmp_path / "f.csv")

    assert result.code == 0, result
    filled = _read(tmp_path / "f.csv")
    assert (filled != "").all().all()  # Adult's own NULLs (occupation, ...) are filled too
    present = holes != ""
    assert (filled[present] == real[present]).sum().sum() == present.sum().sum()


def test_a_given_file_the_model_cannot_follow_is_refused(
    adult_model_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.csv").write_text("sex,planet\nMale,Mars\n")
    out = tmp_path / "out.csv"
    result = run_cli("generate", adult_model_file, "-o", out, "--given", tmp_path / "bad.csv")
    assert_one_line_error(result, 2, "--given", "'planet'", "does not know")
    assert not out.exists()
    shares = run_cli(
        "generate",
        adult_model_file,
        "-o",
        out,
        "--rebalance",
        "sex=Male:0.8",
        "--rebalance",
        "sex=Female:0.3",
    )
    assert_one_line_error(shares, 2, "--rebalance", "more than 1")


def test_impute_names_its_data_argument_in_errors(adult_model_file: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("age,sex\nold,Male\n,Female\n")
    result = run_cli("impute", adult_model_file, tmp_path / "bad.csv", "-o", tmp_path / "o.csv")
    assert_one_line_error(result, 2, "DATA column 'age'", "'old'", "not a number")
    assert not (tmp_path / "o.csv").exists()
