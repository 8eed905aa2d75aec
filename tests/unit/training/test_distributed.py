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
from torch import distributed

from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.training.distributed import Agreed, ShardedBatches, agreed_out_of_time
from synthdb.training.loop import Patience, ShuffledBatches, run

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
