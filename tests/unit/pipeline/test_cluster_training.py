"""The Ray driver's side of a lost worker that needs no cluster: a training that had already
ended when the worker was lost is finished from the last checkpoint (no retry), and the
status line a retry says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import distributed

from synthdb.errors import ClusterError
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.pipeline import EventLog
from synthdb.pipeline.cluster_training import _finish, _Progress, _retry
from synthdb.training.distributed import Agreed, Checkpoint, ShardedBatches, agreed_out_of_time
from synthdb.training.loop import EpochRecord, Patience, QuietListener, run

SHAPE = NetworkShape(cardinalities=(4, 6, 3), embedding_dim=4, hidden=8, dropout=0.1)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[None]:
    store = f"file://{tmp_path / 'store'}"
    distributed.init_process_group("gloo", init_method=store, rank=0, world_size=1)
    try:
        yield
    finally:
        distributed.destroy_process_group()


class LastCheckpoint(QuietListener):
    def __init__(self, net: AutoregressiveNet, steps: ShardedBatches, policy: Patience) -> None:
        self.net, self.steps, self.policy = net, steps, policy
        self.records: list[EpochRecord] = []
        self.last: Checkpoint | None = None

    def on_epoch(self, record: EpochRecord) -> None:
        self.records.append(record)
        self.last = Checkpoint.capture(self.net, self.steps, self.policy, self.records, 0)


def test_a_worker_lost_after_the_last_epoch_finishes_from_the_checkpoint(group: None) -> None:
    # Setup: a converging training (accuracy never improves: patience 1 stops it at epoch 2)
    rng = np.random.default_rng(1)
    data = np.stack([rng.integers(0, c, 200) for c in SHAPE.cardinalities], axis=1)
    torch.manual_seed(3)
    net = AutoregressiveNet(SHAPE)
    steps = ShardedBatches(data, 50, 0.01, 5, rank=0, world=1)
    patience = Patience(data[:40], lambda n: 0.5, max_epochs=6, patience=1, min_delta=0.0)
    listener = LastCheckpoint(net, steps, patience)
    result = run(net, steps, Agreed(patience, 0), listener, clock=agreed_out_of_time)
    assert listener.last is not None
    log = EventLog()

    # Run: what the driver does when the result, not an epoch, was lost
    fresh = AutoregressiveNet(SHAPE)
    finished = _finish(listener.last, fresh, steps.batch_size, log, _Progress())

    # Assert: the kept weights (epoch 1's), the same stop, told once
    assert (
        (finished.stop_reason, finished.best_epoch, len(finished.epochs))
        == (
            result.stop_reason,
            result.best_epoch,
            len(result.epochs),
        )
        == ("converged", 1, 2)
    )
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, fresh.state_dict()[name]), name
    assert [e["event"] for e in log.events] == ["stop"]


def test_each_retry_is_one_line_and_the_last_one_fails() -> None:
    log = EventLog()
    progress = _Progress()

    for _ in range(3):
        _retry(progress, log)
    with pytest.raises(ClusterError) as caught:
        _retry(progress, log)

    said = [e["text"] for e in log.events]
    assert said[0] == "lost a Ray worker at epoch 1; resuming from the start (retry 1 of 3)"
    assert said[2].endswith("(retry 3 of 3)")
    assert "more than 3 times" in str(caught.value)
