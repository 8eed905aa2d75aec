"""A job's progress as a pipeline listener: the JSON fields it keeps, what it hides, and
cancelling through it, which must leave nothing half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthdb import pipeline
from synthdb.errors import UsageError
from synthdb.service.tasks import (
    REPORT_ROWS,
    JobGone,
    Progress,
    Source,
    _report_sample,
    config_from,
    hider,
)
from synthdb.training.loop import EpochRecord, TrainingResult


def test_progress_keeps_the_fields_the_job_page_shows() -> None:
    written: list[dict[str, Any]] = []
    progress = Progress(lambda data: written.append(dict(data)) or True)

    progress.on_training("orders")
    progress.on_message("table orders: 90 rows under customers")
    progress.on_start(max_epochs=3, steps_per_epoch=10)
    progress.on_step(1, 4, float("nan"))
    record = EpochRecord(
        epoch=1, loss=2.5, val_loss=2.0, val_accuracy=0.9, seconds=0.1, epsilon=0.5
    )
    progress.on_epoch(record)
    progress.on_stop(
        TrainingResult(stop_reason="max epochs", best_epoch=1, best_accuracy=0.9, epochs=[record])
    )
    progress.on_rows(0, 20, "sequences")
    progress.on_rows(20, 20, "sequences")
    progress.on_output("/data/models/x/model.synthdb")

    data = written[-1]
    assert data["training"] == "orders" and data["phase"].startswith("table orders")
    assert data["epoch"] == 1 and data["max_epochs"] == 3 and data["steps_per_epoch"] == 10
    assert data["loss"] == 2.5 and data["val_accuracy"] == 0.9 and data["epsilon"] == 0.5
    assert data["curve"] == [
        {
            "epoch": 1,
            "loss": 2.5,
            "val_loss": 2.0,
            "val_accuracy": 0.9,
            "epsilon": 0.5,
            "seconds": 0.1,
            "best": False,
        }
    ]
    assert data["stop_reason"] == "max epochs"
    assert (data["rows_written"], data["rows_total"], data["unit"]) == (20, 20, "sequences")
    assert data["outputs"] == ["/data/models/x/model.synthdb"]
    assert data["log"] == ["table orders: 90 rows under customers"]

    progress.on_training("customers")  # the next table: its own curve, epochs from 1
    assert progress.data["curve"] == [] and "epoch" not in progress.data


def test_hider_names_files_and_masks_passwords(tmp_path: Path) -> None:
    root = tmp_path / "data"
    hide = hider(root, {f"{root}/datasets/ab/data.csv": "sales.csv"}, ["s3cret"])
    text = (
        f"training on {root}/datasets/ab/data.csv: 5 rows; wrote {root}/jobs/cd/work/x.csv "
        "to postgresql://me:s3cret@db/x"
    )
    assert hide(text) == "training on sales.csv: 5 rows; wrote x.csv to postgresql://me:***@db/x"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    frame = pd.DataFrame({"a": [i % 7 for i in range(80)], "b": [f"x{i % 3}" for i in range(80)]})
    frame.to_csv(folder / "t.csv", index=False)
    path = folder / "t.synthdb"
    pipeline.train(folder / "t.csv", path, pipeline.training_config(max_epochs=1))
    return path


def test_a_cancelled_generation_leaves_no_file(small_model: Path, tmp_path: Path) -> None:
    """``JobGone`` from the listener stops the pipeline; the output is not left behind."""
    answers = iter([True, True, False])  # the job is taken away after two writes
    progress = Progress(lambda data: next(answers, False))
    output = tmp_path / "out.csv"
    with pytest.raises(JobGone):
        pipeline.generate(small_model, output, rows=200_000, seed=1, listener=progress)
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_training_leaves_no_model(small_model: Path, tmp_path: Path) -> None:
    source = small_model.with_name("t.csv")
    gone = Progress(lambda data: "epoch" not in data)  # gone once training has started
    with pytest.raises(JobGone):
        pipeline.train(source, tmp_path / "m.synthdb", pipeline.training_config(), listener=gone)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"sequence_key": "k", "order_by": ["t", "u"]}, None),
        ({"sequence_key": "k", "tables": {"t": {}}}, "for one table"),
        ({"tables": {"t": {"path": "/etc/passwd"}}}, "set by the service"),
        ({"tables": {"t": {"max-epochs": 0}}}, "`tables`.t: `max_epochs`"),
        ({"rows": 5}, "set by the service"),
    ],
)
def test_config_from(config: dict[str, Any], fragment: str | None) -> None:
    if fragment is None:
        training = config_from(config)
        assert (training.sequence_key, training.order_by) == ("k", ["t", "u"])
        return
    with pytest.raises(UsageError, match=fragment):
        config_from(config)


def test_the_report_draws_at_most_its_rows_or_that_share_of_sequences() -> None:
    small = Source("t.csv", None, "t.csv", rows=REPORT_ROWS)
    large = Source("t.csv", None, "t.csv", rows=4 * REPORT_ROWS, distinct={"k": 8_000})
    database = Source("db", None, "db", database=True, rows=4 * REPORT_ROWS)
    assert _report_sample(small, None) == (None, None)  # all of them
    assert _report_sample(large, None) == (REPORT_ROWS, None)
    assert _report_sample(large, "k") == (None, 2_000)
    assert _report_sample(large, "unknown") == (None, None)
    assert _report_sample(database, None) == (None, None)
