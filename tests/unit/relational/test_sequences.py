"""Ordered children (relational/sequences.py): sorting into sequences, gaps, the lag window,
and order rebuilt from gaps; then a database model that learns constructed sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.errors import UsageError
from synthdb.relational.sequences import (
    BUCKETS,
    GAP_COLUMN,
    LAGS,
    TIME_COLUMN,
    bucket,
    check_order_by,
    order_rows,
    positions_in_groups,
    step_order,
    window,
)


def test_positions_and_lengths_are_bucketed_exactly_then_by_doubling() -> None:
    values = np.array([0, 1, 15, 16, 31, 32, 63, 64, 10**9])
    assert bucket(values).tolist() == [0, 1, 15, 16, 16, 17, 17, 18, BUCKETS - 1]


def test_rows_are_sorted_within_parents_and_later_dates_become_gaps() -> None:
    values = pd.DataFrame(
        {
            "day": ["2024-01-10", "2024-01-01", "2024-01-05", "2024-02-01", "2024-03-01"],
            "amount": [3, 1, 2, 9, 7],
        }
    )
    pointing = np.array([0, 0, 0, 1, -1])  # the last row has no parent: a sequence of one

    ordered, spec = order_rows("t", values, pointing, ["day"])

    assert ordered.order.tolist() == [1, 2, 0, 3, 4]
    assert ordered.position.tolist() == [0, 1, 2, 0, 0]
    assert ordered.length.tolist() == [3, 3, 3, 1, 1]
    assert ordered.values["amount"].tolist() == [1, 2, 3, 9, 7]
    # absolute on first elements only; the rest as gaps in seconds (4 days, then 5)
    assert ordered.values["day"].tolist() == ["2024-01-01", None, None, "2024-02-01", "2024-03-01"]
    gaps = ordered.values[GAP_COLUMN].tolist()
    assert gaps[1:3] == [4 * 86_400, 5 * 86_400] and np.isnan([gaps[0], gaps[3], gaps[4]]).all()
    assert spec.order_by == ["day"]


def test_order_is_rebuilt_from_starts_and_gaps_and_never_decreases() -> None:
    values = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=8, freq="3D").astype(str)})
    values["day"] = values["day"].str.slice(0, 10)
    pointing = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    ordered, spec = order_rows("t", values, pointing, ["day"])
    drawn = ordered.values.copy()
    drawn.loc[5, GAP_COLUMN] = -86_400.0  # a negative gap, as no model should draw, is 0
    drawn.loc[7, "day"] = None  # a start the model left NULL: drawn from the source's
    rng = np.random.default_rng(0)
    position = ordered.position
    absolute = np.full(len(drawn), np.nan)
    steps = []
    for step in range(int(position.max()) + 1):  # as generation goes: position by position
        at = np.flatnonzero(position == step)
        part = drawn.iloc[at].reset_index(drop=True)
        previous = absolute[at - 1] if step else np.full(len(at), np.nan)
        absolute[at] = step_order(part, spec, position[at], previous, rng)
        steps.append(part.set_index(pd.Index(at)))
    frame = pd.concat(steps).sort_index()

    assert GAP_COLUMN not in frame
    assert frame["day"].iloc[:5].tolist() == values["day"].iloc[:5].tolist()
    assert frame["day"].iloc[5] == values["day"].iloc[4]  # a gap of 0 instead of -1 day
    assert frame["day"].iloc[6] == values["day"].iloc[5]  # then 3 days on
    assert values["day"].min() <= frame["day"].iloc[7] <= values["day"].max()
    days = pd.to_datetime(frame["day"])
    for _, group in days.groupby(np.repeat([0, 1, 2], [3, 4, 1])):
        assert group.is_monotonic_increasing


def test_timestamps_with_times_of_day_are_learned_as_whole_days_and_a_clock() -> None:
    values = pd.DataFrame(
        {"at": ["2024-01-01 09:00:00", "2024-01-01 17:00:00", "2024-01-03 08:00:00"]}
    )
    ordered, spec = order_rows("t", values, np.array([0, 0, 0]), ["at"])
    assert spec.by_day
    assert ordered.values[GAP_COLUMN].tolist()[1:] == [0, 2]  # same day, then two days on
    assert ordered.values[TIME_COLUMN].tolist()[1:] == [17 * 3600, 8 * 3600]
    assert ordered.seen[TIME_COLUMN].tolist()[0] == 9 * 3600  # the next one sees the first's

    # rebuilt: the day after whole days, at the clock drawn, never before the one before
    drawn = pd.DataFrame(
        {"at": [None, None], GAP_COLUMN: [0, 1], TIME_COLUMN: [6 * 3600, 6 * 3600]}
    )
    previous = np.full(2, pd.Timestamp("2024-01-01 17:00:00").timestamp())
    step_order(drawn, spec, np.array([1, 1]), previous, np.random.default_rng(0))
    assert drawn["at"].tolist() == ["2024-01-01 17:00:00", "2024-01-02 06:00:00"]
    assert TIME_COLUMN not in drawn and GAP_COLUMN not in drawn


def test_dates_alone_keep_plain_gaps() -> None:
    values = pd.DataFrame({"day": ["2024-01-01", "2024-01-04"]})
    ordered, spec = order_rows("t", values, np.array([0, 0]), ["day"])
    assert not spec.by_day and TIME_COLUMN not in ordered.values


def test_the_window_holds_the_elements_before_or_none() -> None:
    lag_tokens = np.array([[1], [2], [3], [4]])
    position, _ = positions_in_groups(np.array([0, 0, 0, 1]))
    out = window(lag_tokens, np.arange(len(position)), position, (10,) * LAGS)
    none = 9
    assert out.tolist() == [[none, none], [1, none], [2, 1], [none, none]]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [(["nope"], "names column 'nope'"), ([], "is empty")],
)
def test_order_by_names_columns_the_table_has(order_by: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_order_by("t", order_by, ["day", "amount"])


def test_a_text_column_has_no_order_to_keep() -> None:
    values = pd.DataFrame({"label": ["a", "b", "c"]})
    with pytest.raises(UsageError, match="not a number or a date"):
        order_rows("t", values, np.array([0, 0, 0]), ["label"])


# --------------------------------------------------------------------- learned end to end
def _accounts(seed: int = 0) -> tuple[object, dict[str, pd.DataFrame]]:
    """Accounts with 3-8 events each: kinds alternate (A, B, A, ...), a level walks by small
    steps, and events come every 7 days for gold accounts, every 1-2 days for the rest."""
    from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef

    rng = np.random.default_rng(seed)
    accounts = 240
    tier = rng.choice(["gold", "basic"], accounts)
    rows = []
    for account in range(accounts):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        level = float(rng.integers(0, 100))
        first = int(rng.integers(0, 2))
        for index in range(int(rng.integers(3, 9))):
            rows.append((account, day.strftime("%Y-%m-%d"), "AB"[(first + index) % 2], level))
            day += pd.Timedelta(days=7 if tier[account] == "gold" else int(rng.integers(1, 3)))
            level += float(rng.choice([-3, -2, -1, 1, 2, 3]))
    events = pd.DataFrame(rows, columns=["account_id", "day", "kind", "level"])
    events = events.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any row order
    events.insert(0, "id", np.arange(len(events)))
    schema = DatabaseSchema.build(
        [
            TableDef("account", [ColumnDef("id"), ColumnDef("tier")], ("id",), []),
            TableDef(
                "event",
                [ColumnDef(c) for c in ["id", "account_id", "day", "kind", "level"]],
                ("id",),
                [ForeignKey(("account_id",), "account", ("id",))],
            ),
        ]
    )
    account = pd.DataFrame({"id": np.arange(accounts), "tier": tier})
    return schema, {"account": account, "event": events}


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel

    schema, frames = _accounts()
    model = DatabaseModel(TrainingConfig(max_epochs=60, seed=0), orders={"event": ["day"]}).fit(
        schema, frames
    )  # type: ignore[arg-type]
    path = tmp_path_factory.mktemp("seq") / "accounts.synthdb"
    model.save(path)
    return DatabaseModel.load(path), frames


def _sequences(twin: dict[str, pd.DataFrame]) -> pd.DataFrame:
    events = twin["event"].copy()
    events["day"] = pd.to_datetime(events["day"])
    events["tier"] = events["account_id"].map(twin["account"].set_index("id")["tier"])
    return events


def test_every_generated_sequence_is_in_order(learned) -> None:  # type: ignore[no-untyped-def]
    model, _ = learned
    events = _sequences(model.generate(seed=1))
    assert (
        events.groupby("account_id", sort=False)["day"]
        .apply(lambda days: days.is_monotonic_increasing)
        .all()
    )


def test_elements_remember_the_ones_before(learned) -> None:  # type: ignore[no-untyped-def]
    model, frames = learned
    events = _sequences(model.generate(seed=2))
    by = events.groupby("account_id", sort=False)
    # kinds alternate (independent draws would change kind in about half the steps)
    changed = (by["kind"].shift() != events["kind"])[by.cumcount() > 0]
    assert changed.mean() >= 0.85
    # the level walks: consecutive levels are close (independent: about 40 apart)
    steps = (events["level"] - by["level"].shift()).abs().dropna()
    assert steps.median() <= 6
    # gaps follow the tier: a week for gold accounts, a day or two for the others
    gaps = by["day"].diff().dt.days
    assert gaps[events["tier"] == "gold"].median() == 7
    assert gaps[events["tier"] == "basic"].median() <= 2
    # lengths: as many events per account as the source has, 3 to 8 for most
    per_account = events.groupby("account_id").size()
    assert abs(len(events) - len(frames["event"])) <= 0.02 * len(frames["event"])
    assert per_account.between(3, 8).mean() >= 0.9


def test_sequences_are_the_same_for_the_same_seed(learned) -> None:  # type: ignore[no-untyped-def]
    model, _ = learned
    first, again = model.generate(seed=4), model.generate(seed=4)
    assert all(first[name].equals(again[name]) for name in first)


def test_children_ordered_by_their_own_key_keep_it_ascending_in_each_sequence() -> None:
    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel
    from synthdb.relational.sequences import SOURCE_ORDER

    schema, frames = _accounts()
    model = DatabaseModel(TrainingConfig(max_epochs=2, seed=0), orders={"event": ["id"]})
    model.fit(schema, frames)  # type: ignore[arg-type]
    spec = model.models["event"].sequence
    assert spec is not None and spec.order_by == [SOURCE_ORDER]  # nothing learned as gaps
    assert GAP_COLUMN not in model.models["event"].synthesizer.schema.names  # type: ignore[union-attr]
    twin = model.generate(seed=0)
    events = twin["event"]
    ids = pd.to_numeric(events["id"])
    assert ids.groupby(events["account_id"]).apply(lambda i: i.is_monotonic_increasing).all()
    # scored as sequences: in order, and no gaps compared (keys are numbered anew)
    from synthdb.evaluation.relations import database_accuracy

    [coherence] = database_accuracy(
        schema,  # type: ignore[arg-type]
        frames,
        twin,
        ordered=model.ordered_tables(),
    ).sequences
    assert coherence.order_by == ["id"] and coherence.in_order_synthetic == 1.0
    assert coherence.gaps is None
