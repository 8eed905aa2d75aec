"""Tables larger than memory: a Parquet file trained through the streamed route (the
threshold lowered so that a small table takes it), and ``sample_rows``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb import Synthesizer, TrainingConfig
from synthdb.errors import UsageError
from synthdb.evaluation.accuracy import accuracy
from synthdb.streaming import sample_positions

CONFIG = {"max_epochs": 2, "hidden": 16, "embedding_dim": 4, "seed": 3}


def _tokens_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("synthdb-tokens-*")}


@pytest.fixture(scope="module")
def adult_parquet(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streamed") / "adult.parquet"
    adult.iloc[:6_000].to_parquet(path, index=False)
    return path


def test_a_parquet_file_trains_streamed_as_well_as_in_memory(
    adult: pd.DataFrame, adult_parquet: Path
) -> None:
    # Setup
    before = _tokens_folders()
    passes: list[str] = []

    # Run: the same file, streamed (threshold 1,000 rows) and in memory
    streamed = Synthesizer(TrainingConfig(nulls="replace", **CONFIG)).fit(
        adult_parquet,
        stream_above=1_000,
        progress=lambda stage, done, total: passes.append(stage) if done == 0 else None,
    )
    in_memory = Synthesizer(TrainingConfig(nulls="replace", **CONFIG)).fit(adult_parquet)

    # Assert: three passes, the same schema and categories, close accuracy, nothing left on disk
    assert passes == ["reading", "statistics", "encoding"]
    assert streamed.schema.to_dict() == in_memory.schema.to_dict()
    assert streamed.null_report.to_dict() == in_memory.null_report.to_dict()
    for mine, theirs in zip(
        streamed.state.encoder.encoders, in_memory.state.encoder.encoders, strict=True
    ):
        if mine.to_dict()["kind"] in ("categorical", "boolean"):
            assert mine.to_dict() == theirs.to_dict()
    real = adult.iloc[:6_000]
    scores = [
        accuracy(real, model.sample(3_000, seed=1)).overall for model in (streamed, in_memory)
    ]
    assert abs(scores[0] - scores[1]) < 0.02
    assert _tokens_folders() == before


def test_a_streamed_model_saves_and_samples_with_its_keys(
    adult_parquet: Path, tmp_path: Path
) -> None:
    model = Synthesizer(TrainingConfig(nulls="drop", **CONFIG)).fit(
        adult_parquet, stream_above=1_000
    )
    model.save(tmp_path / "m.synthdb")

    again = Synthesizer.load(tmp_path / "m.synthdb")

    pd.testing.assert_frame_equal(again.sample(500, seed=4), model.sample(500, seed=4))
    assert model.null_report.rows_before == 6_000


def test_sample_rows_draws_every_row_equally_often() -> None:
    # Setup: 500 of 5,000 rows, for 400 seeds
    total, kept, seeds = 5_000, 500, 400
    hits = np.zeros(total)

    # Run
    for seed in range(seeds):
        positions = sample_positions(total, kept, seed)
        assert positions is not None and len(np.unique(positions)) == kept
        hits[positions] += 1

    # Assert: 40 hits a row expected; chi-square with 4,999 degrees of freedom (99.9% < 5,620)
    expected = seeds * kept / total
    assert ((hits - expected) ** 2 / expected).sum() < 5_620
    assert sample_positions(total, total, 0) is None


def test_sample_rows_trains_on_that_many_rows_on_either_route(
    adult_sample: pd.DataFrame, adult_parquet: Path
) -> None:
    config = TrainingConfig(nulls="keep", sample_rows=1_500, **CONFIG)

    in_memory = Synthesizer(config).fit(adult_sample)
    streamed = Synthesizer(config).fit(adult_parquet, stream_above=1_000)

    assert in_memory.null_report.rows_before == 1_500
    assert streamed.null_report.rows_before == 1_500
    assert streamed.schema.rows == 1_500


def test_a_table_too_large_for_memory_refuses_differential_privacy(adult_parquet: Path) -> None:
    config = TrainingConfig(epsilon=4, **CONFIG)

    with pytest.raises(UsageError, match="`sample_rows`"):
        Synthesizer(config).fit(adult_parquet, stream_above=1_000)


def test_a_database_table_is_counted_and_streamed(
    adult_sample: pd.DataFrame, tmp_path: Path
) -> None:
    # Setup: 3,000 rows in SQLite
    import sqlite3

    from synthdb.io.sources import open_source
    from synthdb.streaming import source_rows

    path = tmp_path / "people.db"
    with sqlite3.connect(path) as connection:
        adult_sample.to_sql("people", connection, index=False)
    url = f"sqlite:///{path}"

    # Run
    counted = source_rows(open_source(url, table="people"), "people")
    model = Synthesizer(TrainingConfig(nulls="keep", **CONFIG)).fit(
        url, table="people", stream_above=1_000
    )

    # Assert
    assert counted == 3_000
    assert model.null_report.rows_before == 3_000
    assert len(model.sample(100, seed=1)) == 100


def test_a_large_csv_file_is_counted_and_streamed(
    adult: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV file past the size threshold is counted as it is read (a quoted line break is
    one record, not two) and learned by the streamed route, as a Parquet file is."""
    from synthdb.io import sources
    from synthdb.io.sources import open_source

    # Setup: 3,000 rows, one field with a quoted line break, plain and gzipped
    frame = adult.iloc[:3_000].copy()
    frame.loc[7, "occupation"] = "Tech-support\nnight shift"
    plain, packed = tmp_path / "people.csv", tmp_path / "people.csv.gz"
    frame.to_csv(plain, index=False)
    frame.to_csv(packed, index=False)

    # Run / Assert: below the threshold, not counted (read whole as before)
    assert open_source(plain).count_rows() is None  # type: ignore[attr-defined]
    monkeypatch.setattr(sources, "CSV_COUNT_BYTES", 1)
    assert open_source(plain).count_rows() == 3_000  # type: ignore[attr-defined]
    assert open_source(packed).count_rows() == 3_000  # type: ignore[attr-defined]

    passes: list[str] = []
    config = TrainingConfig(nulls="replace", **CONFIG)
    streamed = Synthesizer(config).fit(
        plain, stream_above=1_000, progress=lambda stage, done, rows: passes.append(stage)
    )
    in_memory = Synthesizer(config).fit(plain, stream_above=10_000)
    assert passes, "the CSV file did not take the streamed route"
    assert streamed.schema.to_dict() == in_memory.schema.to_dict()
    assert streamed.null_report.rows_before == 3_000
