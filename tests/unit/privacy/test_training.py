"""Training under a budget end to end: the ledger in the model file, stops, and refusals."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb.config import make_config
from synthdb.errors import UsageError
from synthdb.privacy import accounting
from synthdb.privacy.ledger import Ledger
from synthdb.privacy.training import _smoothed, _supported
from synthdb.synthesizer import Synthesizer

SMALL = {"hidden": 16, "embedding_dim": 4, "nulls": "keep"}


def private(frame: pd.DataFrame, **values: object) -> Synthesizer:
    settings = {**SMALL, "max_epochs": 2, "noise_seed": 1, **values}
    privacy = {k: settings.pop(k) for k in ("noise_seed", "calibration") if k in settings}
    config = make_config(**settings)
    assert config.privacy is not None
    config = config.model_copy(update={"privacy": config.privacy.model_copy(update=privacy)})
    return Synthesizer(config).fit(frame)


@pytest.fixture(scope="module")
def model(adult_sample: pd.DataFrame) -> Synthesizer:
    return private(adult_sample.drop(columns=["person_id"]), epsilon=1.0)


def test_the_ledger_round_trips_through_the_manifest(model: Synthesizer, tmp_path: Path) -> None:
    path = tmp_path / "m.synthdb"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    data = manifest["privacy"]
    sgd = next(e for e in data["entries"] if e["mechanism"] == "dp-sgd")
    for key in ("noise_multiplier", "sample_rate", "steps", "delta", "epsilon", "accountant"):
        assert key in sgd
    assert sgd["epsilon"] == pytest.approx(
        accounting.epsilon(
            [(sgd["noise_multiplier"], sgd["sample_rate"], sgd["steps"])], sgd["delta"]
        )
    )
    recomputed = Ledger.from_dict(data).recompute()
    assert recomputed == pytest.approx(data["total_epsilon"], rel=1e-9)
    assert data["total_epsilon"] <= 1.0 + 1e-6
    assert data["total_epsilon"] > 0.98  # auto noise spends the budget, not less
    loaded = Synthesizer.load(path)
    assert loaded.ledger is not None and loaded.ledger.total_epsilon == pytest.approx(recomputed)
    assert len(loaded.sample(50, seed=2)) == 50


def test_nothing_data_dependent_is_recorded_in_the_history(model: Synthesizer) -> None:
    for record in model.training.epochs:
        assert record.loss != record.loss and record.val_accuracy != record.val_accuracy  # NaN
        assert record.epsilon is not None
    assert model.schema.rows != 3_000 or model.null_report.rows_before != 3_000


def test_an_explicit_noise_multiplier_stops_when_the_budget_is_spent(adult_sample) -> None:
    frame = adult_sample.drop(columns=["person_id"])
    model = private(frame, epsilon=1.0, noise_multiplier=2.5, max_epochs=200)
    assert model.training.stop_reason == "privacy budget spent"
    ledger = model.ledger
    assert ledger is not None
    assert ledger.total_epsilon <= 1.0
    sgd = next(e for e in ledger.entries if e.mechanism == "dp-sgd")
    assert sgd.steps is not None and sgd.noise_multiplier is not None and sgd.sample_rate
    one_more = [*ledger.mechanisms()[:-1], (sgd.noise_multiplier, sgd.sample_rate, sgd.steps + 1)]
    assert accounting.epsilon(one_more, ledger.rdp_delta) > 1.0


def test_microbatches_count_twice_the_clip_as_sensitivity(adult_sample) -> None:
    model = private(adult_sample.drop(columns=["person_id"]), epsilon=4.0, microbatches=8, clip=0.5)
    sgd = next(e for e in model.ledger.entries if e.mechanism == "dp-sgd")  # type: ignore[union-attr]
    assert sgd.parameters["sensitivity"] == 1.0
    assert sgd.parameters["noise_std"] == pytest.approx(sgd.noise_multiplier * 1.0)


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"epsilon": 0}, ["`epsilon`", "greater than 0"]),
        ({"epsilon": 1, "clip": 0}, ["`clip`", "greater than 0"]),
        ({"epsilon": 1, "noise_multiplier": -1}, ["`noise_multiplier`", "greater than 0"]),
        ({"epsilon": 1, "microbatches": 0}, ["`microbatches`", "greater than or equal to 1"]),
        ({"epsilon": 1, "delta": 1.5}, ["`delta`", "less than 1"]),
    ],
)
def test_parameters_out_of_range_are_one_line_errors(values, fragments, one_line) -> None:
    with pytest.raises(UsageError) as caught:
        make_config(**values)
    one_line(caught.value, *fragments)


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"epsilon": 1, "delta": 1e-3}, ["`delta` must be below 1/rows"]),
        ({"epsilon": 1, "microbatches": 10_000}, ["--microbatches must be at most the batch"]),
        (
            {"epsilon": 1, "noise_multiplier": 0.05},
            ["--noise-multiplier 0.05 is too small", "less than one epoch"],
        ),
    ],
)
def test_settings_the_data_cannot_honour_are_refused(
    adult_sample, values, fragments, one_line
) -> None:
    with pytest.raises(UsageError) as caught:
        private(adult_sample.drop(columns=["person_id"]), **values)
    one_line(caught.value, *fragments)


def test_a_table_too_small_for_the_budget_says_what_epsilon_would_do(
    adult_sample, one_line
) -> None:
    tiny = adult_sample.drop(columns=["person_id"]).head(40)
    with pytest.raises(UsageError) as caught:
        private(tiny, epsilon=0.1, delta=1e-3)
    one_line(caught.value, "too small for epsilon 0.1", "would do")


def test_too_few_microbatches_are_refused_with_the_count_that_would_do() -> None:
    """Few groups share the noise: the cure is more micro-batches, and the guard says so."""
    from synthdb.config import Privacy
    from synthdb.privacy.training import MAX_RELATIVE_NOISE, plan

    def planned(guard: bool):
        ledger = Ledger(delta=1e-5, target_epsilon=3.0)
        privacy = Privacy(epsilon=3.0, microbatches=2, noise_guard=guard)
        return plan(privacy, ledger, rows=39_074, batch=2048, max_epochs=5)

    with pytest.raises(UsageError) as caught:
        planned(True)
    message = str(caught.value) + " " + (caught.value.hint or "")
    assert "2 micro-batches are too few for epsilon 3" in message
    least = int(message.split("--microbatches ")[1].split()[0])
    assert 2 < least <= 2048 and least & (least - 1) == 0
    # The suggested count passes the guard; one power of two fewer does not.
    ledger = Ledger(delta=1e-5, target_epsilon=3.0)
    plan(Privacy(epsilon=3.0, microbatches=least), ledger, 39_074, 2048, 5)
    with pytest.raises(UsageError):
        plan(Privacy(epsilon=3.0, microbatches=least // 2), ledger, 39_074, 2048, 5)
    # Without the guard the same plan trains, with the noise it needs: 2 groups share it.
    unguarded = planned(False)
    step = unguarded.step
    assert step.noise_std / (step.clip * step.expected_groups) > MAX_RELATIVE_NOISE


def test_heads_start_add_one_smoothed_only_inside_the_released_support() -> None:
    """An empty cell between two released ones keeps a row's worth of mass; the cells past
    the last released one (the empty top of a too-wide DP range) start at almost nothing."""
    counts = np.array([0.0, 0.0, 50.0, 0.0, 40.0, 0.0, 0.0, 0.0])
    share = _smoothed(counts)
    assert share.sum() == pytest.approx(1.0)
    assert share[3] == pytest.approx(1.0 / (counts.sum() + 3 + 5 * 0.01))  # inside: one row
    assert share[[0, 1, 5, 6, 7]].sum() < 0.001  # outside: five cells, under a tenth of a row
    assert share[2] > share[4] > share[3]
    assert np.allclose(_smoothed(np.zeros(4)), 0.25)  # nothing released: uniform


def test_the_raking_target_gives_nothing_to_cells_without_a_dp_count() -> None:
    """The heads are raked to the denoised counts: an empty cell, inside or past the released
    ones, gets a hundredth of a row, so calibration does not refill the empty top of a range."""
    counts = np.array([0.0, 0.0, 50.0, 0.0, 40.0, 0.0, 0.0, 0.0])
    share = _supported(counts)
    assert share.sum() == pytest.approx(1.0)
    assert share[3] == pytest.approx(0.01 / (counts.sum() + 2 + 6 * 0.01))
    assert share[2] == pytest.approx(51 / (counts.sum() + 2 + 6 * 0.01))
    assert share[3] < _smoothed(counts)[3] / 50
    assert np.allclose(_supported(np.zeros(4)), 0.25)  # nothing released: uniform


def test_the_heads_are_raked_to_the_dp_counts_at_no_cost(model: Synthesizer) -> None:
    """Calibration reads only the model and the DP counts: an epsilon-0 entry, closer marginals."""
    assert model.ledger is not None
    entry = next(e for e in model.ledger.entries if e.mechanism == "post-processing")
    assert entry.epsilon == 0.0 and entry.gaussian is None
    assert entry.parameters["sub_columns"] > 0
    assert entry.parameters["mean_tvd_after"] < entry.parameters["mean_tvd_before"] / 2
    assert model.ledger.total_epsilon <= 1.0 + 1e-6


def test_calibration_can_be_switched_off(adult_sample: pd.DataFrame) -> None:
    plain = private(adult_sample.drop(columns=["person_id"]), epsilon=1.0, calibration=False)
    assert plain.ledger is not None
    assert all(e.mechanism != "post-processing" for e in plain.ledger.entries)


def test_under_dp_rules_are_only_those_declared_and_the_ledger_says_so(
    adult_sample: pd.DataFrame,
) -> None:
    """education -> education_num holds in every row: found without DP, not under it."""
    frame = adult_sample.drop(columns=["person_id"])
    declared = {"kind": "order", "source": "education_num", "column": "age"}
    dp = private(frame, epsilon=1.0, rules={"add": [declared]})
    assert [r.text for r in dp.state.rules] == ["table.education_num <= table.age"]
    assert dp.state.rules[0].gaps is None  # nothing read from the data
    entry = next(e for e in dp.ledger.entries if e.target == "rules")  # type: ignore[union-attr]
    assert entry.epsilon == 0.0 and entry.parameters["discovery"] == "off"
    # the total is unchanged by it
    assert dp.ledger.total_epsilon == pytest.approx(1.0, abs=1e-6)  # type: ignore[union-attr]
    synthetic = dp.sample(2_000, seed=1)
    ages = pd.to_numeric(synthetic["age"])
    years = pd.to_numeric(synthetic["education_num"])
    assert (years <= ages).all()


# ------------------------------------------------------ the DP step and stop in the one loop


def _budgeted(noise_seed: int, noise_multiplier: float | str = 3.0):
    """A small network trained by the one loop with DP-SGD steps until the budget is spent."""
    import math

    import torch

    from synthdb.config import Privacy
    from synthdb.model.network import AutoregressiveNet, NetworkShape
    from synthdb.privacy.dpsgd import PoissonSteps
    from synthdb.privacy.ledger import LedgerEntry
    from synthdb.privacy.training import BudgetSpent, plan
    from synthdb.training.loop import run

    torch.manual_seed(0)
    net = AutoregressiveNet(NetworkShape((4, 4), embedding_dim=4, hidden=8, dropout=0.0))
    first = np.random.default_rng(0).integers(0, 4, 2_000)
    tokens = np.stack([first, (first + 1) % 4], axis=1)
    ledger = Ledger(delta=1e-5, target_epsilon=2.0)
    ledger.add(  # the preprocessing histograms come first, as in training
        LedgerEntry("gaussian histogram", "row count", 0.1, 1e-5, 40.0, 1.0, 1)
    )
    privacy = Privacy(epsilon=2.0, noise_multiplier=noise_multiplier)
    planned = plan(privacy, ledger, rows=2_000.0, batch=100, max_epochs=50)
    generator = torch.Generator().manual_seed(noise_seed)
    steps = PoissonSteps(
        tokens, planned.sample_rate, planned.steps_per_epoch, planned.step, 0.01, generator
    )
    stopping = BudgetSpent(planned, ledger, 0.01)
    result = run(net, steps, stopping)
    assert stopping.max_epochs == math.ceil(planned.steps / planned.steps_per_epoch)
    return net, result, ledger, planned


def test_budget_spent_takes_exactly_the_affordable_steps_and_charges_them() -> None:
    _, result, ledger, planned = _budgeted(noise_seed=0)

    assert planned.budget_limited  # 50 epochs at this noise would overspend
    assert result.stop_reason == "privacy budget spent"
    sgd = ledger.entries[-1]
    assert sgd.mechanism == "dp-sgd" and sgd.steps == planned.steps
    assert sgd.noise_multiplier == planned.noise_multiplier
    assert sgd.parameters["learning_rate"] == 0.01 and sgd.parameters["sampling"] == "poisson"
    # the epsilon after each epoch rises to the ledger's total, which stays within the budget
    spent = [e.epsilon for e in result.epochs]
    assert spent == sorted(spent) and spent[-1] == pytest.approx(ledger.total_epsilon)
    assert ledger.total_epsilon <= 2.0
    assert all(e.best for e in result.epochs) and result.best_epoch == len(result.epochs)
    assert all(e.loss != e.loss for e in result.epochs)  # NaN: the loss reads the data


def test_auto_noise_trains_every_epoch_and_stops_at_max_epochs() -> None:
    _, result, ledger, planned = _budgeted(noise_seed=0, noise_multiplier="auto")

    assert not planned.budget_limited
    assert result.stop_reason == "max epochs" and len(result.epochs) == 50
    assert ledger.total_epsilon == pytest.approx(2.0, abs=1e-3)


def test_dp_training_is_repeatable_from_its_noise_seed_only() -> None:
    def weights(seed: int) -> list[np.ndarray]:
        net = _budgeted(noise_seed=seed)[0]
        return [p.detach().numpy().copy() for p in net.parameters()]

    same, again, other = weights(1), weights(1), weights(2)

    assert all(np.array_equal(a, b) for a, b in zip(same, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(same, other, strict=True))
