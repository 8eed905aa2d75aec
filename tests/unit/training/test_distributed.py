"""The data-parallel step and stop on a process group of one (gloo, in this process): the
same training as :class:`ShuffledBatches`; the two-rank case is tested on a Ray cluster
(tests/integration/test_ray_training.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load
from torch import distributed

from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.training import store as store_module
from synthdb.training.distributed import (
    Agreed,
    Checkpoint,
    ShardedBatches,
    ShardedStoredBatches,
    agreed_out_of_time,
)
from synthdb.training.loop import (
    EpochRecord,
    Patience,
    QuietListener,
    ShuffledBatches,
    TrainingResult,
    run,
)
from synthdb.training.store import ArrayTokens, StoredBatches, TokenStore

SHAPE = NetworkShape(cardinalities=(4, 6, 3), embedding_dim=4, hidden=8, dropout=0.0)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[None]:
    store = f"file://{tmp_path / 'store'}"
    distributed.init_process_group("gloo", init_method=store, rank=0, world_size=1)
    try:
        yield
    finally:
        distributed.destroy_process_group()


def tokens(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, c, rows) for c in SHAPE.cardinalities], axis=1)


def trained(sharded: bool) -> tuple[AutoregressiveNet, list[float]]:
    torch.manual_seed(3)
    net = AutoregressiveNet(SHAPE)
    data, val = tokens(300, 1), tokens(60, 2)
    steps = (
        ShardedBatches(data, 50, 0.01, 5, rank=0, world=1)
        if sharded
        else ShuffledBatches(data, 50, 0.01, 5)
    )
    patience = Patience(val, lambda n: float(n.loss(torch.from_numpy(val)).item()) * -1,
                        max_epochs=3, patience=5, min_delta=0.0)  # fmt: skip
    stopping = Agreed(patience, rank=0) if sharded else patience
    result = run(net, steps, stopping, clock=agreed_out_of_time if sharded else None)
    return net, [e.loss for e in result.epochs]


def test_one_rank_trains_as_one_process(group: None) -> None:
    sharded, sharded_losses = trained(sharded=True)
    single, single_losses = trained(sharded=False)

    assert sharded_losses == pytest.approx(single_losses, rel=1e-5)
    for (name, a), b in zip(
        sharded.state_dict().items(), single.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-5), name


def test_the_time_limit_is_asked_of_every_rank_only_when_there_is_one(group: None) -> None:
    now = time.monotonic()

    assert not agreed_out_of_time(now, None)
    assert not agreed_out_of_time(now, 3600.0)
    assert agreed_out_of_time(now - 10, 5.0)


class Checkpoints(QuietListener):
    """Captures the training's state after each epoch, as rank 0 does for the Ray driver."""

    def __init__(
        self,
        net: AutoregressiveNet,
        steps: ShardedBatches | ShardedStoredBatches,
        policy: Patience,
    ) -> None:
        self.net, self.steps, self.policy = net, steps, policy
        self.records: list[EpochRecord] = []
        self.done = 0
        self.taken: list[Checkpoint] = []

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.done += 1

    def on_epoch(self, record: EpochRecord) -> None:
        self.records.append(record)
        self.taken.append(
            Checkpoint.capture(self.net, self.steps, self.policy, self.records, self.done)
        )


def dropout_training(
    resume: Checkpoint | None = None,
) -> tuple[AutoregressiveNet, TrainingResult, list[Checkpoint]]:
    """Five epochs with dropout, a learning rate that plateaus and a patience that counts;
    from ``resume`` where given (the network then starts from other weights: the
    checkpoint's must replace them)."""
    shape = NetworkShape(cardinalities=(4, 6, 3), embedding_dim=4, hidden=8, dropout=0.2)
    torch.manual_seed(3 if resume is None else 99)
    net = AutoregressiveNet(shape)
    data, val = tokens(300, 1), tokens(60, 2)
    steps = ShardedBatches(data, 50, 0.05, 5, rank=0, world=1, resume=resume)
    patience = Patience(val, lambda n: -float(n.loss(torch.from_numpy(val)).item()),
                        max_epochs=5, patience=4, min_delta=0.01)  # fmt: skip
    listener = Checkpoints(net, steps, patience)
    result = run(
        net,
        steps,
        Agreed(patience, rank=0, resume=resume),
        listener,
        clock=agreed_out_of_time,
        resume=None if resume is None else resume.resume(steps.batch_size),
    )
    return net, result, listener.taken


def test_a_training_resumed_from_a_checkpoint_ends_with_the_same_bytes(group: None) -> None:
    # Setup: the uninterrupted training, and its state after epoch 2
    whole, whole_result, checkpoints = dropout_training()
    after_two = checkpoints[1]

    # Run: new objects go on from it (what new Ray workers do after a lost one)
    resumed, resumed_result, resumed_checkpoints = dropout_training(resume=after_two)

    # Assert: the same state after the last epoch bit for bit (weights, AdamW's moments, the
    # shuffling generator: the weights kept may be an earlier epoch's), the same kept weights,
    # the same epochs and the same best epoch
    assert after_two.epoch == 2
    last, resumed_last = load(checkpoints[-1].tensors), load(resumed_checkpoints[-1].tensors)
    assert last.keys() == resumed_last.keys()
    for name, tensor in last.items():
        assert torch.equal(tensor, resumed_last[name]), name
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert [(e.epoch, e.loss, e.val_accuracy, e.best) for e in resumed_result.epochs] == [
        (e.epoch, e.loss, e.val_accuracy, e.best) for e in whole_result.epochs
    ]
    assert (resumed_result.best_epoch, resumed_result.stop_reason) == (
        whole_result.best_epoch,
        whole_result.stop_reason,
    )


def test_a_checkpoint_is_safetensors_and_json_and_says_when_the_training_ended(
    group: None,
) -> None:
    _, result, checkpoints = dropout_training()

    values = checkpoints[-1].values
    tensors = load(checkpoints[-1].tensors)  # safetensors: no object is unpickled
    assert {"net.w1", "best.w1", "adamw.0.exp_avg", "adamw.0.exp_avg_sq", "shuffle"} <= set(tensors)
    assert values["epoch"] == len(result.epochs) == 5
    assert values["stop_reason"] == result.stop_reason  # converged, or max epochs
    assert checkpoints[0].values["stop_reason"] is None
    assert checkpoints[-1].result(50).best_epoch == result.best_epoch


# ------------------------------------------------------------ a table streamed from disk
@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenStore]:
    """300 rows in a token store, read in blocks of 16 rows, 4 blocks a window: each epoch
    draws several windows, and rows left in one go into the next."""
    monkeypatch.setattr(store_module, "BLOCK_ROWS", 16)
    monkeypatch.setattr(store_module, "WINDOW_BLOCKS", 4)
    with TokenStore(300, SHAPE.cardinalities, tmp_path) as store:
        store.append(tokens(300, 1))
        store.finish()
        yield store


def in_memory(store: TokenStore) -> ArrayTokens:
    """The store's rows as a Ray worker holds them (its uint16 array, its counts)."""
    return ArrayTokens(np.array(store.mapped()), store.counts)


def test_one_rank_takes_exactly_the_stored_batches(group: None, stored: TokenStore) -> None:
    single = StoredBatches(stored, 50, 0.01, 5)
    sharded = ShardedStoredBatches(in_memory(stored), 50, 0.01, 5, rank=0, world=1)

    for _ in range(3):
        single.start_epoch()
        sharded.start_epoch()
        for _ in range(single.steps_per_epoch):
            assert torch.equal(sharded.next_batch(), single.next_batch())

    assert sharded.steps_per_epoch == single.steps_per_epoch
    assert sharded.rng.bit_generator.state == single.rng.bit_generator.state


def stored_training(
    store: TokenStore, resume: Checkpoint | None = None
) -> tuple[AutoregressiveNet, TrainingResult, list[Checkpoint]]:
    """Three epochs on the store's rows with dropout, from ``resume`` where given."""
    shape = NetworkShape(cardinalities=(4, 6, 3), embedding_dim=4, hidden=8, dropout=0.2)
    torch.manual_seed(3 if resume is None else 99)
    net = AutoregressiveNet(shape)
    val = tokens(60, 2)
    steps = ShardedStoredBatches(in_memory(store), 50, 0.05, 5, rank=0, world=1, resume=resume)
    patience = Patience(val, lambda n: -float(n.loss(torch.from_numpy(val)).item()),
                        max_epochs=3, patience=4, min_delta=0.01)  # fmt: skip
    listener = Checkpoints(net, steps, patience)
    result = run(
        net,
        steps,
        Agreed(patience, rank=0, resume=resume),
        listener,
        clock=agreed_out_of_time,
        resume=None if resume is None else resume.resume(steps.batch_size),
    )
    return net, result, listener.taken


def test_a_stored_training_resumed_after_epoch_one_ends_with_the_same_bytes(
    group: None, stored: TokenStore
) -> None:
    whole, whole_result, checkpoints = stored_training(stored)

    resumed, resumed_result, resumed_checkpoints = stored_training(stored, checkpoints[0])

    assert checkpoints[0].epoch == 1
    # the listener here starts without the resumed epochs' records: the state's other parts
    values, resumed_values = checkpoints[-1].values, resumed_checkpoints[-1].values
    for key in ("blocks", "adamw", "schedule", "waited", "best_loss"):
        assert resumed_values[key] == values[key], key
    last, resumed_last = load(checkpoints[-1].tensors), load(resumed_checkpoints[-1].tensors)
    assert last.keys() == resumed_last.keys()
    for name, tensor in last.items():
        assert torch.equal(tensor, resumed_last[name]), name
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert [(e.epoch, e.loss) for e in resumed_result.epochs] == [
        (e.epoch, e.loss) for e in whole_result.epochs
    ]
