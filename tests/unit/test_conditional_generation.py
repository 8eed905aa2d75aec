"""Conditional generation: rows given some of their values, rebalancing and imputation.

The data are constructed with a known dependency that runs against the model's order: the
last column ``y`` depends on the first, ``x``, so conditioning on ``y`` must change ``x``.
With p(x) = (1/2, 1/4, 1/4) for a, b, c and p(y = hi | x) = 0.9 for a and 0.1 otherwise,
Bayes gives p(x = a | y = hi) = 0.45 / (0.45 + 0.025 + 0.025) = 0.9, and
p(x = a | y = lo) = 0.05 / (0.05 + 0.225 + 0.225) = 0.1: a draw that ignored the given ``y``
would keep 0.5. The number ``z`` follows ``x`` (about 10 for a, 0 otherwise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthdb.conditioning import parse_rebalance
from synthdb.config import TrainingConfig
from synthdb.errors import UsageError
from synthdb.model.conditional import sample_given
from synthdb.synthesizer import Synthesizer

ROWS = 4_000


def _dependent(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.choice(["a", "b", "c"], size=rows, p=[0.5, 0.25, 0.25])
    z = np.where(x == "a", 10.0, 0.0) + rng.normal(0.0, 1.0, rows)
    y = np.where(rng.random(rows) < np.where(x == "a", 0.9, 0.1), "hi", "lo")
    return pd.DataFrame({"x": x, "z": z.round(2), "y": y})


@pytest.fixture(scope="module")
def model() -> Synthesizer:
    config = TrainingConfig(max_epochs=8, hidden=16, embedding_dim=4, seed=1, nulls="keep")
    return Synthesizer(config).fit(_dependent(ROWS, seed=0))


def test_given_values_are_kept_and_the_rest_follows_the_condition(model: Synthesizer) -> None:
    # Setup: half the rows given y = hi, half y = lo
    given = pd.DataFrame({"y": ["hi"] * 1_000 + ["lo"] * 1_000})

    # Run
    rows = model.sample(given=given, seed=3)

    # Assert: one row per given row, y as given, x per Bayes (0.9 and 0.1), z after x
    assert len(rows) == len(given)
    assert rows["y"].tolist() == given["y"].tolist()
    rich = rows[rows["y"] == "hi"]
    assert (rich["x"] == "a").mean() == pytest.approx(0.9, abs=0.05)
    assert (rows[rows["y"] == "lo"]["x"] == "a").mean() == pytest.approx(0.1, abs=0.05)
    assert rich.loc[rich["x"] == "a", "z"].mean() == pytest.approx(10.0, abs=1.0)


def test_one_copy_per_row_ignores_a_later_condition(model: Synthesizer) -> None:
    """The forced draw (one copy) keeps x's unconditional 0.5: the copies are what condition."""
    state = model.state
    given = pd.DataFrame({"y": ["hi"] * 2_000})
    tokens = model.state.encoder.encode(
        pd.DataFrame({"x": [None] * 2_000, "z": np.nan, "y": given["y"]})
    )
    known = np.zeros(tokens.shape, dtype=bool)
    known[:, -1] = True
    sampler = state.net.sampler()
    draws = {
        copies: sample_given(
            sampler,
            torch.from_numpy(tokens),
            torch.from_numpy(known),
            torch.Generator().manual_seed(5),
            copies,
            adaptive=False,
        )
        for copies in (1, 64)
    }
    a = state.encoder.encoders[0].categories.index("a")
    assert (draws[1][:, 0] == a).float().mean().item() == pytest.approx(0.5, abs=0.05)
    assert (draws[64][:, 0] == a).float().mean().item() == pytest.approx(0.9, abs=0.05)


def test_given_rows_are_the_same_for_the_same_seed(model: Synthesizer) -> None:
    given = pd.DataFrame({"x": ["b", "a", "c"] * 50, "y": ["hi"] * 150})
    first = model.sample(given=given, seed=4)
    assert first.equals(model.sample(given=given, seed=4))
    assert first[["x", "y"]].equals(given)


def test_a_given_null_is_kept(model: Synthesizer) -> None:
    given = pd.DataFrame({"z": [None, 1.5, None], "y": ["hi", None, "lo"]})
    rows = model.sample(given=given, seed=0)
    assert rows["z"].isna().tolist() == [True, False, True]
    assert rows["z"].iloc[1] == 1.5
    assert rows["y"].tolist()[::2] == ["hi", "lo"] and pd.isna(rows["y"].iloc[1])


def test_rebalance_sets_the_share_and_the_rest_follows(model: Synthesizer) -> None:
    rows = model.sample(1_000, rebalance={"x": {"c": 0.6}}, seed=2)
    assert (rows["x"] == "c").sum() == 600
    # the other 400 rows keep the model's proportions of a and b (2 to 1)
    rest = rows[rows["x"] != "c"]
    assert (rest["x"] == "a").mean() == pytest.approx(2 / 3, abs=0.07)
    # y follows x: mostly lo for c
    assert (rows.loc[rows["x"] == "c", "y"] == "lo").mean() > 0.8


def test_rebalance_of_the_last_column_conditions_the_first(model: Synthesizer) -> None:
    rows = model.sample(2_000, rebalance={"y": {"hi": 0.5, "lo": 0.5}}, seed=1)
    assert (rows["y"] == "hi").sum() == 1_000
    assert (rows.loc[rows["y"] == "hi", "x"] == "a").mean() == pytest.approx(0.9, abs=0.05)


def test_impute_fills_nulls_given_the_row_and_keeps_the_rest(model: Synthesizer) -> None:
    # Setup: real rows with x NULL where y is hi or lo, and a NULL z
    real = _dependent(2_000, seed=9)
    holes = real.copy()
    holes.loc[:, "x"] = None
    holes.loc[::7, "z"] = None

    # Run
    filled = model.impute(holes, seed=0)

    # Assert: no NULL left, the rest as it was, x per y and z
    assert filled.notna().all().all()
    assert filled["y"].tolist() == real["y"].tolist()
    present = holes["z"].notna()
    assert np.allclose(filled.loc[present, "z"].astype(float), real.loc[present, "z"])
    # z (about 10 for a, 0 otherwise) tells x almost surely where it is known
    told = present & ((real["z"] > 7) | (real["z"] < 3))
    agree = (filled.loc[told, "x"] == "a") == (real.loc[told, "z"] > 5)
    assert agree.mean() > 0.95


def test_impute_never_draws_a_null(model: Synthesizer) -> None:
    """The model learned NULLs (nulls keep); an imputed cell is a value all the same."""
    frame = model.sample(500, seed=1)
    frame.loc[:, "x"] = None
    assert model.impute(frame, seed=0)["x"].notna().all()


@pytest.mark.parametrize(
    ("given", "fragments"),
    [
        (pd.DataFrame({"w": [1]}), ["`given`", "'w'", "does not know"]),
        (pd.DataFrame({"x": ["d"]}), ["'x'", "'d'", "never saw"]),
        (pd.DataFrame({"z": [1e6]}), ["'z'", "outside the range"]),
        (pd.DataFrame({"z": ["ten"]}), ["'z'", "'ten'", "not a number"]),
    ],
)
def test_given_values_the_model_cannot_condition_on_are_refused(
    model: Synthesizer, given: pd.DataFrame, fragments: list[str]
) -> None:
    with pytest.raises(UsageError) as raised:
        model.sample(given=given)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_impute_keeps_values_the_model_never_saw() -> None:
    """Real rows may hold a new category or a number out of range: kept, not refused."""
    config = TrainingConfig(max_epochs=1, hidden=8, embedding_dim=4, seed=1)
    model = Synthesizer(config).fit(_dependent(500, seed=0))
    frame = pd.DataFrame({"x": ["d", None], "z": [1e6, None], "y": ["hi", "lo"]})
    filled = model.impute(frame)
    assert filled["x"].iloc[0] == "d" and filled["z"].iloc[0] == 1e6
    assert filled.notna().all().all()


@pytest.mark.parametrize(
    ("rebalance", "fragments"),
    [
        ({"x": {"a": 0.7, "b": 0.6}}, ["add up to 1.3", "more than 1"]),
        ({"z": {"1": 0.5}}, ["categorical", "'z'"]),
        ({"x": {"q": 0.5}}, ["'q'", "never saw"]),
        ({"w": {"a": 0.5}}, ["'w'", "does not know"]),
        ({"x": {"a": -0.1}}, ["between 0 and 1"]),
    ],
)
def test_bad_rebalances_are_refused(
    model: Synthesizer, rebalance: dict[str, dict[str, float]], fragments: list[str]
) -> None:
    with pytest.raises(UsageError) as raised:
        model.sample(100, rebalance=rebalance)
    assert "`rebalance`" in str(raised.value)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_rows_and_given_together_are_refused(model: Synthesizer) -> None:
    with pytest.raises(UsageError, match="one row per given row"):
        model.sample(5, given=pd.DataFrame({"x": ["a"]}))


def test_rebalance_strings_parse() -> None:
    assert parse_rebalance(["income=>50K:0.5", "t=12:30:0.25"]) == {
        "income": {">50K": 0.5},
        "t": {"12:30": 0.25},
    }
    for bad in ("income>50K", "income=>50K", "income=>50K:half"):
        with pytest.raises(UsageError, match="`rebalance`"):
            parse_rebalance([bad])
