"""A database under differential privacy: subjects, bounds, public copies, one ledger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.errors import UsageError
from synthdb.privacy import database as dp
from synthdb.relational.model import DatabaseModel
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef


def _table(name: str, columns: list[str], key: str, parents: dict[str, str]) -> TableDef:
    return TableDef(
        name=name,
        columns=[ColumnDef(c) for c in columns],
        primary_key=(key,),
        foreign_keys=[ForeignKey((c,), p) for c, p in parents.items()],
    )


def _bank(accounts: int = 600, seed: int = 0) -> tuple[DatabaseSchema, dict[str, pd.DataFrame]]:
    """district (public) <- account <- order; district <- client <- disp -> account."""
    rng = np.random.default_rng(seed)
    district = pd.DataFrame(
        # text keys, as CSV sources read them (integer keys to a public table: see the report)
        {"district_id": [str(i) for i in range(1, 9)], "region": [f"r{i % 3}" for i in range(8)]}
    )
    account = pd.DataFrame(
        {
            "account_id": np.arange(accounts),
            "district_id": rng.integers(1, 9, accounts).astype(str),
            "frequency": rng.choice(["monthly", "weekly"], accounts, p=[0.8, 0.2]),
        }
    )
    per = rng.choice([1, 2, 3, 4, 30], accounts, p=[0.4, 0.3, 0.15, 0.14, 0.01])
    owner = np.repeat(np.arange(accounts), per)
    order = pd.DataFrame(
        {
            "order_id": np.arange(len(owner)),
            "account_id": owner,
            "amount": np.round(rng.gamma(2.0, 1500.0, len(owner))),
            "k_symbol": rng.choice(["SIPO", "UVER", "POJISTNE"], len(owner)),
        }
    )
    client = pd.DataFrame(
        {
            "client_id": np.arange(accounts),
            "district_id": rng.integers(1, 9, accounts).astype(str),
            "sex": rng.choice(["F", "M"], accounts),
        }
    )
    disp = pd.DataFrame(
        {
            "disp_id": np.arange(accounts),
            "client_id": np.arange(accounts),
            "account_id": np.arange(accounts),
            "type": rng.choice(["OWNER", "DISPONENT"], accounts, p=[0.9, 0.1]),
        }
    )
    schema = DatabaseSchema.build(
        [
            _table("district", ["district_id", "region"], "district_id", {}),
            _table(
                "account",
                ["account_id", "district_id", "frequency"],
                "account_id",
                {"district_id": "district"},
            ),
            _table(
                "order",
                ["order_id", "account_id", "amount", "k_symbol"],
                "order_id",
                {"account_id": "account"},
            ),
            _table(
                "client",
                ["client_id", "district_id", "sex"],
                "client_id",
                {"district_id": "district"},
            ),
            _table(
                "disp",
                ["disp_id", "client_id", "account_id", "type"],
                "disp_id",
                {"client_id": "client", "account_id": "account"},
            ),
        ]
    )
    frames = {
        "district": district,
        "account": account,
        "order": order,
        "client": client,
        "disp": disp,
    }
    return schema, frames


def _config(**privacy: object) -> TrainingConfig:
    settings = {"epsilon": 8.0, "delta": 1e-5, "noise_seed": 1, "public_tables": ("district",)}
    return TrainingConfig(max_epochs=3, privacy={**settings, **privacy})


def test_roles_default_subject_is_the_root_with_most_rows_below() -> None:
    # Setup
    schema, frames = _bank()
    privacy = _config().privacy
    assert privacy is not None
    # Run
    roles = dp.assign_roles(schema, privacy, {n: len(f) for n, f in frames.items()})
    # Assert
    assert roles.subject == "account"
    assert roles.public == ["district"]
    assert set(roles.under) == {"account", "order", "disp"}
    assert roles.row_level == ["client"]


def test_bound_rows_keeps_at_most_k_per_subject_and_drops_orphans() -> None:
    subjects = np.array([0, 0, 0, 0, 1, 1, 2, -1, 3, 3, 3])
    keep = dp.bound_rows(subjects, 2, np.random.default_rng(0))
    kept = subjects[keep]
    assert np.bincount(kept).tolist() == [2, 2, 1, 2]
    assert -1 not in kept


def test_private_bound_is_the_quantile_of_the_noisy_histogram() -> None:
    subjects = np.repeat(np.arange(1000), np.where(np.arange(1000) < 900, 1, 5))
    cells = dp.rows_per_subject(subjects)
    assert cells[0] == 900 and cells[4] == 100
    assert dp.private_bound(cells, quantile=0.85) == 1
    assert dp.private_bound(cells, quantile=0.95) == 5
    # the noise of the empty cells above does not drag the bound up
    noisy = cells + np.random.default_rng(0).normal(0.0, 20.0, cells.shape)
    assert dp.private_bound(noisy, 20.0, quantile=0.95) == 5


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"subject": "nothing"}, "`subject`: 'nothing' is not a table"),
        ({"subject": "district"}, "`subject`: district is declared public"),
        ({"public_tables": ("account",)}, "account is public but references district"),
    ],
)
def test_refusals_are_one_line(privacy: dict[str, object], message: str) -> None:
    schema, frames = _bank(accounts=200)
    with pytest.raises(UsageError, match=message) as caught:
        DatabaseModel(_config(**privacy)).fit(schema, frames)
    assert "\n" not in str(caught.value)


def test_sequences_are_refused_under_dp() -> None:
    schema, frames = _bank(accounts=200)
    model = DatabaseModel(_config(), orders={"order": ["order_id"]})
    with pytest.raises(UsageError, match="sequences are not covered"):
        model.fit(schema, frames)


def test_epsilon_too_small_says_what_would_do() -> None:
    schema, frames = _bank(accounts=200)
    with pytest.raises(UsageError, match=r"would do"):
        DatabaseModel(_config(epsilon=0.05)).fit(schema, frames)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DatabaseModel, dict[str, pd.DataFrame]]:
    schema, frames = _bank()
    model = DatabaseModel(_config(max_rows_per_subject=4)).fit(schema, frames)
    path = tmp_path_factory.mktemp("dp") / "bank.synthdb"
    model.save(path)
    return DatabaseModel.load(path), frames


def test_public_tables_are_copied_exactly(
    trained: tuple[DatabaseModel, dict[str, pd.DataFrame]],
) -> None:
    model, frames = trained
    twin = model.generate(seed=3)
    pd.testing.assert_frame_equal(twin["district"], frames["district"])
    # hidden summaries of children are off under DP (their sensitivity is not bounded)
    assert all(not m.summaries for m in model.models.values())
    # keys to public tables are its keys, never the model's rare or NULL token
    for table in ("account", "client"):
        assert twin[table]["district_id"].isin(frames["district"]["district_id"]).all()


def test_integer_keys_to_a_public_table_come_out_as_its_keys() -> None:
    schema, frames = _bank(accounts=300)
    for name in ("district", "account", "client"):
        frames[name]["district_id"] = frames[name]["district_id"].astype(int)
    model = DatabaseModel(_config(max_rows_per_subject=4, epsilon=16.0)).fit(schema, frames)
    twin = model.generate(seed=2)
    keys = twin["account"]["district_id"]
    assert keys.isin(frames["district"]["district_id"]).all()
    assert pd.api.types.is_integer_dtype(keys.dtype)


def test_one_ledger_composes_every_table_within_budget(
    trained: tuple[DatabaseModel, dict[str, pd.DataFrame]],
) -> None:
    model, _ = trained
    ledger = model.ledger
    assert ledger is not None
    sgd = [e for e in ledger.entries if e.mechanism == "dp-sgd"]
    assert {e.target.split(":")[0] for e in sgd} == {"account", "order", "client", "disp"}
    assert ledger.total_epsilon <= 8.0 + 1e-6
    # contributions: the bound is recorded and the order table's groups are subjects
    bounds = [e for e in ledger.entries if e.mechanism == "contribution bound"]
    assert {e.target.split(":")[0]: e.parameters["max_rows"] for e in bounds}["order"] == 4
    order = next(e for e in sgd if e.target.startswith("order"))
    assert order.parameters["sampling"] == "poisson over subjects"
    assert order.parameters["sensitivity"] == 1.0


def test_twin_keeps_keys_and_bounded_children(
    trained: tuple[DatabaseModel, dict[str, pd.DataFrame]],
) -> None:
    model, _frames = trained
    twin = model.generate(seed=1)
    assert twin["order"]["account_id"].isin(twin["account"]["account_id"]).all()
    assert twin["disp"]["client_id"].isin(twin["client"]["client_id"]).all()
    per_account = twin["order"].groupby("account_id").size()
    assert per_account.max() <= 6  # bounded at 4 in training; drawing may add a little


def test_composition_across_tables_matches_an_independent_accountant(
    trained: tuple[DatabaseModel, dict[str, pd.DataFrame]],
) -> None:
    import dp_accounting
    from dp_accounting import pld, rdp

    from synthdb.privacy import accounting

    model, _ = trained
    ledger = model.ledger
    assert ledger is not None
    # Google's RDP accountant, every table's entries composed at the same orders
    independent = rdp.RdpAccountant(orders=accounting.orders())
    for noise, rate, steps in ledger.mechanisms():
        event: dp_accounting.DpEvent = dp_accounting.GaussianDpEvent(noise)
        if rate < 1.0:
            event = dp_accounting.PoissonSampledDpEvent(rate, event)
        independent.compose(event, steps)
    theirs = float(independent.get_epsilon(ledger.rdp_delta))
    assert ledger.total_epsilon == pytest.approx(theirs, rel=0.01)
    assert theirs <= 8.0 * 1.01
    # each DP-SGD entry's epsilon is no lower than PLD finds for its recorded parameters
    for entry in ledger.entries:
        if entry.mechanism != "dp-sgd":
            continue
        accountant = pld.PLDAccountant(value_discretization_interval=1e-3)
        sampled = dp_accounting.PoissonSampledDpEvent(
            entry.sample_rate, dp_accounting.GaussianDpEvent(entry.noise_multiplier)
        )
        accountant.compose(sampled, entry.steps)
        assert entry.epsilon >= accountant.get_epsilon(entry.delta) - 1e-9


def test_few_subjects_train_on_all_of_them_rather_than_being_refused() -> None:
    privacy = TrainingConfig(privacy={"epsilon": 4.0, "delta": 1e-5}).privacy
    assert privacy is not None
    histograms = [(23.7, 1.0, 34)]  # what 34 histograms cost before training (Chinook's)
    few = [dp.Training(t, 40.0, dp.batch_for(40.0, None), 35) for t in ("a", "b", "c")]
    with pytest.raises(UsageError, match="too small to train"):
        dp.calibrate(privacy, 1e-5, histograms, few)
    noise, trainings = dp.calibrate_widening(privacy, 1e-5, histograms, few)
    assert all(t.batch == 40 and t.sample_rate == 1.0 for t in trainings)
    assert noise / 40 <= 0.5
    # a batch the user set is kept, and the refusal stands
    with pytest.raises(UsageError):
        dp.calibrate_widening(privacy, 1e-5, histograms, few, fixed=["a", "b", "c"])


def test_a_small_database_under_dp_runs_with_public_lookups() -> None:
    schema, frames = _bank(accounts=150)
    model = DatabaseModel(_config(epsilon=4.0, max_rows_per_subject=2)).fit(schema, frames)
    sgd = [e for e in (model.ledger.entries if model.ledger else []) if e.mechanism == "dp-sgd"]
    assert {e.target.split(":")[0] for e in sgd} == {"account", "order", "client", "disp"}
    assert model.ledger is not None and model.ledger.total_epsilon <= 4.0 + 1e-6
    twin = model.generate(seed=0)
    assert len(twin["account"]) > 0


def test_the_report_shows_each_tables_expected_loss(
    trained: tuple[DatabaseModel, dict[str, pd.DataFrame]], tmp_path: Path
) -> None:
    from synthdb.report.database_html import expected_loss_html
    from synthdb.report.model import database_model_summary

    model, _ = trained
    path = tmp_path / "bank.synthdb"
    model.save(path)
    summary = database_model_summary(path)
    expected = summary["privacy_expected"]
    assert set(expected) == {"account", "order", "client", "disp"}  # not the public district
    assert all(
        e["signal"] == pytest.approx(e["rows"] * 8.0 / e["columns"], rel=0.01)
        for e in expected.values()
    )
    html = expected_loss_html(summary, [{"table": "order", "overall": 0.5}])
    assert "expected loss" in html and "0.500" in html
