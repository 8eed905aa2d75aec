from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import numpy as np
import pytest
import torch

from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.training.loop import (
    MIN_STEPS_PER_EPOCH,
    EpochRecord,
    LoopSettings,
    Measurement,
    ShuffledBatches,
    StopReason,
    TrainingResult,
    default_batch_size,
    run,
    train,
)

State = dict[str, torch.Tensor]


def _net() -> AutoregressiveNet:
    torch.manual_seed(0)
    return AutoregressiveNet(NetworkShape((4, 4), embedding_dim=4, hidden=8, dropout=0.0))


def _tokens(rows: int, seed: int = 0) -> np.ndarray:
    """Two sub-columns where the second copies the first: easy to learn, so loss falls."""
    first = np.random.default_rng(seed).integers(0, 4, rows)
    return np.stack([first, first], axis=1)


def _settings(**overrides: object) -> LoopSettings:
    values: dict[str, object] = {
        "max_epochs": 20,
        "patience": 2,
        "min_delta": 0.0,
        "learning_rate": 0.01,
        "batch_size": 64,
        "max_time": None,
        "seed": 0,
    }
    values.update(overrides)
    return LoopSettings(**values)  # type: ignore[arg-type]


class ScriptedValidation:
    """Returns the scripted accuracies in order and snapshots the weights it was shown."""

    def __init__(self, accuracies: Iterable[float]) -> None:
        self.accuracies = list(accuracies)
        self.snapshots: list[State] = []

    def __call__(self, net: AutoregressiveNet) -> float:
        self.snapshots.append(copy.deepcopy(net.state_dict()))
        return self.accuracies[len(self.snapshots) - 1]


class RecordingListener:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.events.append(("start", (max_epochs, steps_per_epoch)))

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.events.append(("step", (epoch, step)))

    def on_epoch(self, record: EpochRecord) -> None:
        self.events.append(("epoch", record.epoch))

    def on_stop(self, result: TrainingResult) -> None:
        self.events.append(("stop", result.stop_reason))


def _same(a: State, b: State) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_stops_converged_and_restores_the_best_epochs_weights() -> None:
    # Setup: best at epoch 2, then two epochs without improvement (patience 2)
    net = _net()
    validate = ScriptedValidation([0.50, 0.70, 0.60, 0.65, 0.99, 0.99])

    # Run
    result = train(net, _tokens(256), _tokens(64, seed=1), _settings(), validate)

    # Assert
    assert result.stop_reason == "converged"
    assert (result.best_epoch, result.best_accuracy) == (2, 0.70)
    assert len(validate.snapshots) == 4
    assert _same(net.state_dict(), validate.snapshots[1])
    assert not _same(net.state_dict(), validate.snapshots[3])  # training did move on
    assert not net.training  # handed back ready to sample


def test_history_records_every_epoch() -> None:
    validate = ScriptedValidation([0.50, 0.70, 0.60, 0.65])

    result = train(_net(), _tokens(256), _tokens(64, seed=1), _settings(), validate)

    assert [e.epoch for e in result.epochs] == [1, 2, 3, 4]
    assert [e.val_accuracy for e in result.epochs] == [0.50, 0.70, 0.60, 0.65]
    assert [e.best for e in result.epochs] == [True, True, False, False]
    assert all(math.isfinite(e.loss) and math.isfinite(e.val_loss) for e in result.epochs)
    assert all(e.seconds >= 0 for e in result.epochs)
    assert result.batch_size == 64
    assert TrainingResult.from_dict(result.to_dict()) == result


def test_gains_below_min_delta_do_not_count_as_improvement() -> None:
    validate = ScriptedValidation([0.500, 0.5004, 0.5008, 0.9])

    result = train(
        _net(), _tokens(128), _tokens(32), _settings(min_delta=0.001, patience=2), validate
    )

    assert result.stop_reason == "converged"
    assert result.best_epoch == 1
    assert len(result.epochs) == 3


def test_steady_improvement_runs_to_max_epochs_and_keeps_the_last_weights() -> None:
    net = _net()
    validate = ScriptedValidation([0.1, 0.2, 0.3])

    result = train(net, _tokens(128), _tokens(32), _settings(max_epochs=3), validate)

    assert result.stop_reason == "max epochs"
    assert result.best_epoch == 3
    assert _same(net.state_dict(), validate.snapshots[2])


def test_max_time_stops_with_time_limit_after_the_epoch_in_progress() -> None:
    validate = ScriptedValidation([0.1] * 20)

    result = train(_net(), _tokens(512), _tokens(32), _settings(max_time=1e-9), validate)

    assert result.stop_reason == "time limit"
    assert len(result.epochs) == 1
    assert result.best_epoch == 1


def test_ctrl_c_after_an_epoch_stops_interrupted_with_the_best_weights() -> None:
    # Setup: the second validation is interrupted, as if the user pressed Ctrl-C
    net = _net()
    snapshots: list[State] = []

    def validate(model: AutoregressiveNet) -> float:
        snapshots.append(copy.deepcopy(model.state_dict()))
        if len(snapshots) == 2:
            raise KeyboardInterrupt
        return 0.5

    # Run
    try:
        result = train(net, _tokens(128), _tokens(32), _settings(), validate)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C after a finished epoch must end training, not escape it")

    # Assert
    assert result.stop_reason == "interrupted"
    assert [e.epoch for e in result.epochs] == [1]
    assert _same(net.state_dict(), snapshots[0])


def test_listener_hears_start_every_step_every_epoch_and_stop_in_order() -> None:
    listener = RecordingListener()
    validate = ScriptedValidation([0.1, 0.2])
    per_epoch = MIN_STEPS_PER_EPOCH + 2  # one pass over the rows is more than the minimum

    train(_net(), _tokens(64 * per_epoch), _tokens(32), _settings(max_epochs=2), validate, listener)

    def steps(epoch: int) -> list[tuple[str, object]]:
        return [("step", (epoch, step)) for step in range(1, per_epoch + 1)]

    assert listener.events == [
        ("start", (2, per_epoch)),
        *steps(1),
        ("epoch", 1),
        *steps(2),
        ("epoch", 2),
        ("stop", "max epochs"),
    ]


def test_a_tiny_table_gets_the_minimum_steps_per_epoch_and_every_row_as_often() -> None:
    # 10 distinct rows, batch 4: one pass is 2 steps; an epoch must still take the minimum,
    # drawn from whole shuffled passes so no row is seen more than once more than another
    torch.manual_seed(0)
    net = AutoregressiveNet(NetworkShape((16, 16), embedding_dim=4, hidden=8, dropout=0.0))
    rows = np.array([[i, (3 * i) % 16] for i in range(10)])
    seen: list[tuple[int, int]] = []
    loss = net.loss

    def recording_loss(batch: torch.Tensor) -> torch.Tensor:
        if net.training:
            seen.extend((int(a), int(b)) for a, b in batch.tolist())
        return loss(batch)

    net.loss = recording_loss  # type: ignore[method-assign]
    listener = RecordingListener()

    settings = _settings(max_epochs=1, batch_size=4)
    train(net, rows, rows, settings, ScriptedValidation([0.5]), listener)

    assert listener.events[0] == ("start", (1, MIN_STEPS_PER_EPOCH))
    assert len(seen) == 4 * MIN_STEPS_PER_EPOCH
    times = np.bincount([a for a, _ in seen], minlength=10)
    assert times.max() - times.min() <= 1, times
    every_row = {(int(a), int(b)) for a, b in rows.tolist()}
    passes = [set(seen[p * 10 : (p + 1) * 10]) for p in range(len(seen) // 10)]
    assert all(rows_of_pass == every_row for rows_of_pass in passes)


def test_training_lowers_the_validation_loss() -> None:
    validate = ScriptedValidation(0.1 * i for i in range(1, 11))

    result = train(_net(), _tokens(512), _tokens(128, seed=1), _settings(max_epochs=10), validate)

    last = result.epochs[-1].val_loss
    # two uniform columns cost 2 ln(4) nats before training; the second is a copy of the
    # first, so most of its ln(4) should be learned
    assert last < 2 * math.log(4) - 0.5 * math.log(4)


def test_the_same_seed_trains_to_the_same_weights() -> None:
    nets = [_net(), _net()]

    for net in nets:
        train(net, _tokens(256), _tokens(32), _settings(max_epochs=2), lambda _: 0.5)

    assert _same(nets[0].state_dict(), nets[1].state_dict())


@pytest.mark.parametrize(
    ("rows", "expected"),
    [(10, 10), (100, 32), (3_000, 64), (10_000, 128), (48_842, 1024), (10_000_000, 1024)],
)
def test_default_batch_size_aims_at_64_steps_within_bounds(rows: int, expected: int) -> None:
    assert default_batch_size(rows) == expected


def test_for_ordered_children_a_falling_validation_loss_keeps_training_going() -> None:
    # the same flat validation accuracy: alone it stops after patience epochs; with the loss
    # counted (a learnable copy task, whose validation loss falls epoch after epoch) it goes on
    flat = [0.90] * 12
    alone = train(_net(), _tokens(256), _tokens(64, seed=1), _settings(), ScriptedValidation(flat))
    counted = train(
        _net(),
        _tokens(256),
        _tokens(64, seed=1),
        _settings(max_epochs=12, loss_counts=True),
        ScriptedValidation(flat),
    )
    assert (alone.stop_reason, alone.best_epoch) == ("converged", 1)
    assert counted.best_epoch > 4
    losses = [e.val_loss for e in counted.epochs]
    assert losses[counted.best_epoch - 1] <= min(losses) * (1 + 0.001)


# ------------------------------------------------------------------ strategies and policies


class CountingSteps:
    """A step strategy that only counts: which epoch each step fell in."""

    batch_size = 8

    def __init__(self, steps_per_epoch: int) -> None:
        self.steps_per_epoch = steps_per_epoch
        self.started = 0
        self.taken: list[int] = []
        self.epoch = 0
        self.schedule: list[float | None] = []

    def start(self, net: AutoregressiveNet) -> None:
        self.started += 1

    def start_epoch(self) -> None:
        self.epoch += 1

    def step(self, net: AutoregressiveNet) -> float:
        self.taken.append(self.epoch)
        return float("nan")

    def end_epoch(self, val_loss: float | None) -> None:
        self.schedule.append(val_loss)


class StepBudget:
    """A stopping policy like the DP budget's: a fixed number of steps, no validation."""

    no_accuracy = float("nan")

    def __init__(self, steps: int, max_epochs: int) -> None:
        self.steps = steps
        self.max_epochs = max_epochs
        self.finished_with: int | None = None

    def start(self, net: AutoregressiveNet) -> None:
        pass

    def may_step(self, steps: int) -> bool:
        return steps < self.steps

    def measure(self, net: AutoregressiveNet, steps: int) -> Measurement:
        return Measurement(epsilon=float(steps))

    def judge(self, net: AutoregressiveNet, record: EpochRecord, result: TrainingResult) -> bool:
        record.best = True
        result.best_epoch = record.epoch
        return False

    def exhausted(self) -> StopReason:
        return "privacy budget spent"

    def finish(self, net: AutoregressiveNet, steps: int) -> None:
        self.finished_with = steps


def test_a_step_budget_ends_the_last_epoch_early_and_the_policy_names_the_stop() -> None:
    # Setup: 10 steps at 4 per epoch: the third epoch has only 2 left
    steps, budget, listener = CountingSteps(4), StepBudget(10, max_epochs=3), RecordingListener()

    # Run
    result = run(_net(), steps, budget, listener)

    # Assert
    assert steps.started == 1
    assert steps.taken == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    assert budget.finished_with == 10
    assert result.stop_reason == "privacy budget spent"
    assert [e.epsilon for e in result.epochs] == [4.0, 8.0, 10.0]  # measured after each epoch
    assert all(math.isnan(e.loss) and math.isnan(e.val_loss) for e in result.epochs)
    assert steps.schedule == [None, None, None]  # no validation loss to schedule on
    assert math.isnan(result.best_accuracy) and result.best_epoch == 3
    assert result.batch_size == 8
    assert listener.events[0] == ("start", (3, 4))
    assert listener.events[-1] == ("stop", "privacy budget spent")


def test_the_time_limit_stops_any_strategy_within_the_epoch() -> None:
    steps, budget = CountingSteps(50), StepBudget(1_000, max_epochs=20)

    result = run(_net(), steps, budget, max_time=1e-9)

    assert result.stop_reason == "time limit"
    assert steps.taken == [1]  # stopped after the step in progress
    assert budget.finished_with == 1  # the policy still records what was done


def test_ctrl_c_mid_epoch_charges_the_steps_taken() -> None:
    # Setup: the 7th step is interrupted, after one full epoch of 4
    class Interrupted(CountingSteps):
        def step(self, net: AutoregressiveNet) -> float:
            if len(self.taken) == 6:
                raise KeyboardInterrupt
            return super().step(net)

    steps, budget = Interrupted(4), StepBudget(100, max_epochs=10)

    # Run
    result = run(_net(), steps, budget)

    # Assert
    assert result.stop_reason == "interrupted"
    assert [e.epoch for e in result.epochs] == [1]
    assert budget.finished_with == 6


def test_shuffled_batches_start_the_heads_at_the_training_rows_frequencies() -> None:
    net = _net()
    tokens = np.array([[0, 1]] * 30 + [[2, 3]] * 10)
    steps = ShuffledBatches(tokens, batch_size=64, learning_rate=0.01, seed=0)

    steps.start(net)

    first = torch.softmax(net.heads[0].bias, 0)  # type: ignore[union-attr]
    assert first[0] > 0.7 and first[2] > 0.2 and first[1] < 0.02
    assert steps.batch_size == 40  # never above the rows
    assert steps.steps_per_epoch == MIN_STEPS_PER_EPOCH


def test_shuffled_batches_halve_the_learning_rate_when_the_loss_stalls() -> None:
    net = _net()
    steps = ShuffledBatches(_tokens(64), batch_size=16, learning_rate=0.01, seed=0)
    steps.start(net)

    for _ in range(4):
        steps.end_epoch(1.0)  # no better: after 2 epochs of patience, halved
    steps.end_epoch(None)  # nothing measured: no change

    assert steps.optimizer.param_groups[0]["lr"] == pytest.approx(0.005)
