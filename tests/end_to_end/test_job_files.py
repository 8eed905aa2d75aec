"""A job file given as the input (``synthdb run job.yaml``, ``synthdb train job.yaml``) applies
its top-level settings as ``--job`` does, with the command line's flags on top.

The job file names two small CSV tables and the key between them, and asks for the testing
purpose, one epoch, a patience and a NULL policy that are none of the defaults (analytics,
35 epochs): the printed header and the saved model say which settings were used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import Result, run_cli

from synthdb.modelfile import read_manifest

JOB = """\
purpose: testing
max-epochs: 1
patience: 3
nulls: replace
seed: 4
sample_seed: 9
tables:
  customers: {path: customers.csv, primary_key: id}
  orders:
    path: orders.csv
    primary_key: oid
    foreign_keys: [{columns: customer_id, references: customers.id}]
"""


def _warnings(result: Result) -> list[str]:
    return [line for line in result.lines if line.startswith("warning:")]


@pytest.fixture
def job(tmp_path: Path) -> Path:
    customers = [f"{i},{'FR' if i % 3 else 'DE'},{20 + i % 50}" for i in range(1, 41)]
    orders = [f"{i},{1 + i * 7 % 40},{i % 9 * 11.5}" for i in range(1, 81)]
    (tmp_path / "customers.csv").write_text("id,country,age\n" + "\n".join(customers) + "\n")
    (tmp_path / "orders.csv").write_text("oid,customer_id,total\n" + "\n".join(orders) + "\n")
    path = tmp_path / "job.yaml"
    path.write_text(JOB)
    return path


def test_train_applies_the_job_files_settings(job: Path, tmp_path: Path) -> None:
    model = tmp_path / "shop.synthdb"

    result = run_cli("train", job, "-o", model)

    assert result.code == 0, result
    assert "purpose testing, max 1 epochs" in result.stderr, result
    # sample_seed is the one key of the file a training run does not use; tables and input are
    assert _warnings(result) == [
        f"warning: {job}: sample_seed ignored; give them on the command line"
    ]
    config = read_manifest(model)["config"]
    assert (config["purpose"], config["max_epochs"], config["patience"]) == ("testing", 1, 3)
    assert (config["nulls"], config["seed"]) == ("replace", 4)


def test_run_puts_the_command_lines_flags_on_top(job: Path, tmp_path: Path) -> None:
    # Setup: a --job file read after the input's job file, and a flag above both
    later = tmp_path / "later.yaml"
    later.write_text("patience: 5\nmax-epochs: 3\n")
    model, twin = tmp_path / "shop.synthdb", tmp_path / "twin"

    # Run
    result = run_cli("run", job, "-o", twin, "--job", later, "--max-epochs", 2, "--model", model)

    # Assert
    assert result.code == 0, result
    assert "purpose testing, max 2 epochs" in result.stderr, result
    config = read_manifest(model)["config"]
    assert (config["purpose"], config["max_epochs"], config["patience"]) == ("testing", 2, 5)
    assert config["nulls"] == "replace"
    assert sorted(path.name for path in twin.iterdir()) == ["customers.csv", "orders.csv"]


def test_a_folder_with_job_tables_is_not_told_they_are_ignored(job: Path, tmp_path: Path) -> None:
    result = run_cli("train", tmp_path, "-o", tmp_path / "m.synthdb", "--job", job)

    assert result.code == 0, result
    assert "2 tables, 1 foreign keys" in result.stderr
    assert "purpose testing, max 1 epochs" in result.stderr
    assert _warnings(result) == [
        f"warning: {job}: sample_seed ignored; give them on the command line"
    ]
