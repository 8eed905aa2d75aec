from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.errors import InputError, UsageError
from synthdb.synthesizer import Synthesizer

OneLine = Callable[..., str]
FAST = {"batch_size": 64, "hidden": 16, "embedding_dim": 4}
INTEGER_COLUMNS = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss"]


@pytest.fixture(scope="module")
def generated(adult_model: Synthesizer) -> pd.DataFrame:
    return adult_model.sample(2_000, seed=1)


def test_training_records_two_epochs_and_its_stop_reason(adult_model: Synthesizer) -> None:
    result = adult_model.training

    assert [e.epoch for e in result.epochs] == [1, 2]
    assert result.stop_reason in ("max epochs", "converged")
    assert 0.0 < result.best_accuracy <= 1.0
    assert adult_model.null_report.policy == "keep"


def test_the_same_seed_gives_identical_frames(
    adult_model: Synthesizer, generated: pd.DataFrame
) -> None:
    again = adult_model.sample(2_000, seed=1)

    pd.testing.assert_frame_equal(again, generated)


def test_different_seeds_give_different_rows(
    adult_model: Synthesizer, generated: pd.DataFrame
) -> None:
    other = adult_model.sample(2_000, seed=2)

    modelled = generated.columns.drop("person_id")
    changed = (other[modelled] != generated[modelled]).any(axis=1).mean()
    assert changed > 0.5


def test_columns_keep_their_names_and_order(
    adult_sample: pd.DataFrame, generated: pd.DataFrame
) -> None:
    assert list(generated.columns) == list(adult_sample.columns)
    assert len(generated) == 2_000


def test_integer_columns_are_whole_and_inside_the_source_range(
    adult_sample: pd.DataFrame, generated: pd.DataFrame
) -> None:
    for name in INTEGER_COLUMNS:
        source = adult_sample[name].astype(int)
        values = generated[name]
        assert values.notna().all(), name
        assert (values.astype(float) % 1 == 0).all(), name
        assert values.min() >= source.min(), name
        assert values.max() <= source.max(), name


def test_categories_are_ones_the_source_holds_and_nulls_are_kept(
    adult_sample: pd.DataFrame, generated: pd.DataFrame
) -> None:
    for name in ["workclass", "education", "marital_status", "race", "sex", "income"]:
        seen = set(adult_sample[name].dropna())
        assert set(generated[name].dropna()) <= seen, name
    # workclass is 5-6% NULL in Adult; "keep" must not lose that
    assert generated["workclass"].isna().any()


def test_keys_are_unique_and_regenerated_across_batches(adult_model: Synthesizer) -> None:
    batches = list(adult_model.iter_samples(1_000, seed=0, batch_rows=300))
    keys = pd.concat([b["person_id"] for b in batches], ignore_index=True)

    assert [len(b) for b in batches] == [300, 300, 300, 100]
    assert keys.is_unique
    assert keys.tolist() == [str(1000 + i) for i in range(1_000)]


def test_one_row_table_trains_and_samples() -> None:
    frame = pd.DataFrame({"n": ["7"], "c": ["x"], "d": ["2024-01-01"]}, dtype=object)

    model = Synthesizer(TrainingConfig(max_epochs=2, **FAST)).fit(frame)
    generated = model.sample(5, seed=0)

    assert generated.shape == (5, 3)
    assert generated.astype(str).to_numpy().tolist() == [["7", "x", "2024-01-01"]] * 5


def test_two_row_table_trains_the_network_and_samples_source_values() -> None:
    frame = pd.DataFrame({"n": ["1", "2"], "c": ["x", "y"]}, dtype=object)

    model = Synthesizer(TrainingConfig(max_epochs=2, **FAST)).fit(frame)
    generated = model.sample(50, seed=0)

    assert len(model.training.epochs) == 2
    assert set(generated["n"]) <= {1, 2}
    assert set(generated["c"]) <= {"x", "y"}


def test_one_column_table_trains_and_samples() -> None:
    values = np.random.default_rng(0).integers(0, 100, 300)
    frame = pd.DataFrame({"score": values.astype(str)})

    model = Synthesizer(TrainingConfig(max_epochs=2, **FAST)).fit(frame)
    generated = model.sample(200, seed=0)

    assert list(generated.columns) == ["score"]
    assert generated["score"].between(values.min(), values.max()).all()
    assert generated["score"].nunique() > 10


@pytest.mark.parametrize("rows", [0, -1])
def test_sampling_fewer_than_one_row_is_a_usage_error(
    adult_model: Synthesizer, rows: int, one_line: OneLine
) -> None:
    with pytest.raises(UsageError) as excinfo:
        adult_model.sample(rows)

    one_line(excinfo.value, "`rows`", str(rows))


def test_sampling_before_training_is_a_usage_error(one_line: OneLine) -> None:
    with pytest.raises(UsageError) as excinfo:
        Synthesizer().sample(5)

    one_line(excinfo.value, "not trained")


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame(), pd.DataFrame({"a": pd.Series([], dtype=object)})],
    ids=["no columns", "no rows"],
)
def test_an_empty_table_is_an_input_error(frame: pd.DataFrame, one_line: OneLine) -> None:
    with pytest.raises(InputError) as excinfo:
        Synthesizer(TrainingConfig(max_epochs=1)).fit(frame)

    one_line(excinfo.value, "no")
