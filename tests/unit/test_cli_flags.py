"""The training flags are defined once and appear on ``train`` and ``run`` alike; the library's
parameter names become flags only on the command line."""

from __future__ import annotations

from dataclasses import fields

import pytest
from typer.main import get_command

from synthdb.cli._session import flag_names
from synthdb.cli.app import app
from synthdb.cli.options import TrainingFlags


def _options(command: str) -> list[str]:
    params = get_command(app).commands[command].params  # type: ignore[attr-defined]
    return [p.name for p in params]


@pytest.mark.parametrize("command", ["train", "run"])
def test_train_and_run_carry_every_training_flag_in_one_block(command: str) -> None:
    shared = [f.name for f in fields(TrainingFlags)]

    options = _options(command)

    start = options.index(shared[0])
    assert options[start : start + len(shared)] == shared


def test_the_flags_reach_the_config_with_job_files_under_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    job = tmp_path / "job.toml"
    job.write_text('purpose = "ml"\nnulls = "keep"\n')

    config = TrainingFlags(max_epochs=4, noise_multiplier=None, job=job).config("data.csv")

    assert (config.purpose, config.max_epochs, config.nulls) == ("ml", 4, "keep")


def test_library_parameter_names_become_flags() -> None:
    assert flag_names("`sample_seed` must be at least 0 (pass `sample_seed` 0 or more)") == (
        "--sample-seed must be at least 0 (pass --sample-seed 0 or more)"
    )
    assert flag_names("`json_path` and the report page name the same file") == (
        "--json and the report page name the same file"
    )
    assert flag_names("`model_path`, `report_path`") == "--model, --report"
    assert flag_names("`max_epochs`: input should be greater than 0") == (
        "--max-epochs: input should be greater than 0"
    )
