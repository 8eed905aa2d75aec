"""``synthdb study``: a tiny micro-batch study end to end, and its one-line refusals.

The smoke run is the full command on 1,200 Adult rows, one seed, one epoch and three
micro-batch values, so that the study behind docs/study-*.png cannot rot. Batches of 32 keep
the sampling rate low, which is what keeps the noise calibration quick.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_harness import adult_sample, assert_one_line_error, run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMERIC_OPTIONS = {
    "--seeds", "--epsilon", "--epochs", "--batch-size", "--microbatches", "--clip",
    "--learning-rate",
}  # fmt: skip


def test_a_tiny_microbatch_study_writes_fits_and_a_plot(data_dir: Path, tmp_path: Path) -> None:
    source = adult_sample(data_dir, 1200)
    output = tmp_path / "study"
    result = run_cli(
        "study", "microbatches", source, "-o", output, "--seeds", 1, "--epochs", 1,
        "--batch-size", 32, "--values", "4,8,32", "--epsilon", 8, "--nulls", "keep",
    )  # fmt: skip
    assert result.code == 0, result
    assert "run 3/3" in result.stderr and "accuracy = " in result.stderr

    data = json.loads((output / "study-microbatches.json").read_text())
    assert data["study"] == "microbatches"
    assert data["settings"]["values"] == [4.0, 8.0, 32.0]
    assert [r["value"] for r in data["runs"]] == [4.0, 8.0, 32.0]
    for run in data["runs"]:
        assert run["refused"] is None
        assert 0.0 < run["accuracy"] <= 1.0 and run["seconds"] > 0
        assert run["epsilon_spent"] <= 8.0 + 1e-9
    fits = {(f["target"], f["model"]): f for f in data["fits"]}
    assert set(fits) == {("accuracy", "log"), ("seconds", "linear")}
    assert set(fits["accuracy", "log"]["coefficients"]) == {"a", "b"}
    assert set(fits["seconds", "linear"]["coefficients"]) == {"c", "d"}
    assert all(f["r2"] <= 1.0 and f["points"] == 3 for f in fits.values())

    picture = (output / "study-microbatches.png").read_bytes()
    assert picture.startswith(PNG_SIGNATURE) and len(picture) > 10_000
    assert sorted(p.name for p in output.iterdir()) == [
        "study-microbatches.json",
        "study-microbatches.png",
    ]


def test_microbatches_beyond_the_batch_size_are_refused_before_training(
    adult_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "never"
    result = run_cli(
        "study", "microbatches", adult_csv, "-o", output, "--batch-size", 64,
        "--values", "8,128",
    )  # fmt: skip
    assert_one_line_error(result, 2, "--values", "128 micro-batches", "batch size 64")
    assert not output.exists()


def test_the_swept_parameter_cannot_also_be_fixed(adult_csv: Path, tmp_path: Path) -> None:
    result = run_cli("study", "clip", adult_csv, "-o", tmp_path, "--clip", 1)
    assert_one_line_error(result, 2, "--clip", "--values")


@pytest.mark.parametrize("sweep", ["microbatches", "noise", "clip", "learning-rate"])
def test_every_study_option_documents_its_default_and_range(sweep: str) -> None:
    from typer.main import get_command

    from synthdb.cli.app import app

    study = get_command(app).commands["study"]  # type: ignore[attr-defined]
    options = [p for p in study.commands[sweep].params if p.param_type_name == "option"]
    assert {"--values", "--seeds", "--epsilon", "--epochs", "--output"} <= {
        p.opts[0] for p in options
    }
    for option in options:
        text = option.help or ""
        assert "Default:" in text or option.required or option.opts[0] == "--help", option.opts
        if option.opts[0] in NUMERIC_OPTIONS:
            assert "Range:" in text, f"{option.opts[0]} has no range: {text}"
