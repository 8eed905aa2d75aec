"""Data-parallel training: the one loop (:func:`synthdb.training.loop.run`) on every rank of a
``torch.distributed`` process group, each rank stepping on its part of every batch.

What makes N ranks train as one process does:

- :class:`ShardedBatches` draws the single process's batches (the same shuffled order from the
  same seed, the same batch size) and gives rank ``r`` rows ``r, r + N, ...`` of each. Its
  loss is the rank's *sum* of row losses over the whole batch's row count, times ``N``:
  DistributedDataParallel averages the ranks' gradients, so the step's gradient is the
  gradient of the batch's mean, whatever the split (an average of per-rank means would equal
  it only for equal parts). The optimiser and its learning-rate schedule are the single
  process's, fed the same validation losses, so every rank holds the same weights.
- :class:`Agreed` lets rank 0 measure after each epoch and broadcasts the measurement, so
  every rank judges the same numbers and stops at the same epoch; :func:`agreed_out_of_time`
  stops them all at the same step when any rank's clock passes ``max_time`` (ranks that
  disagreed would wait for each other's gradients for ever).

Nothing here knows Ray: :mod:`synthdb.pipeline.cluster_training` starts the ranks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, distributed, nn
from torch.nn.parallel import DistributedDataParallel

from synthdb.model.network import AutoregressiveNet
from synthdb.training.loop import (
    EpochRecord,
    Measurement,
    ShuffledBatches,
    StoppingPolicy,
    StopReason,
    TrainingResult,
    _out_of_time,
)


class _BatchLoss(nn.Module):
    """The network with its rank's part of the batch loss as ``forward``: DDP synchronises
    gradients through the wrapped module's forward call, and the loop calls ``loss``."""

    def __init__(self, net: AutoregressiveNet, scale: float) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, tokens: Tensor) -> Tensor:
        return self.net.row_loss(tokens).sum() * self.scale


class ShardedBatches(ShuffledBatches):
    """:class:`ShuffledBatches` on ``world`` ranks: each takes every ``world``-th row of the
    single process's batch, and the gradients are all-reduced (DDP over gloo on CPU)."""

    def __init__(
        self,
        tokens: np.ndarray,
        batch_size: int,
        learning_rate: float,
        seed: int,
        *,
        rank: int,
        world: int,
    ) -> None:
        super().__init__(tokens, batch_size, learning_rate, seed)
        self.rank = rank
        self.world = world

    def start(self, net: AutoregressiveNet) -> None:
        super().start(net)
        # ``static_graph``: the embeddings no hidden block sees (a number's position in its
        # bin, the last sub-column) never reach the loss, the same ones at every step. Without
        # it DDP waits for their gradients, never all-reduces the bucket they share with
        # others (the first layer's weight came back as the rank's own gradient), and fails
        # at the next step. Buffers (the first layer's mask) never change, so they need not
        # be sent at each step (only once, at the start).
        self.parallel = DistributedDataParallel(
            _BatchLoss(net, self.world / self.batch_size),
            forward_sync_buffers=False,
            static_graph=True,
        )

    def step(self, net: AutoregressiveNet) -> float:
        idx = self._order[self._next * self.batch_size : (self._next + 1) * self.batch_size]
        self._next += 1
        loss = self.parallel(self.data[idx[self.rank :: self.world]])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        # the batch's mean loss, as one process records it
        total = loss.detach() / self.world
        distributed.all_reduce(total)
        return float(total.item())


class Agreed:
    """A stopping policy whose measurements are rank 0's, broadcast to every rank.

    Only rank 0 calls the wrapped policy's ``measure`` (it may be costly, or ask a driver);
    judging is the wrapped policy's own, on the same numbers everywhere, so every rank keeps
    the same best weights and stops at the same epoch.
    """

    def __init__(self, policy: StoppingPolicy, rank: int) -> None:
        self.policy = policy
        self.rank = rank
        self.max_epochs = policy.max_epochs
        self.no_accuracy = policy.no_accuracy

    def start(self, net: AutoregressiveNet) -> None:
        self.policy.start(net)

    def may_step(self, steps: int) -> bool:
        return self.policy.may_step(steps)

    def measure(self, net: AutoregressiveNet, steps: int) -> Measurement:
        values = torch.full((3,), float("nan"), dtype=torch.float64)
        if self.rank == 0:
            measured = self.policy.measure(net, steps)
            values[0] = measured.val_accuracy
            if measured.val_loss is not None:
                values[1] = measured.val_loss
            if measured.epsilon is not None:
                values[2] = measured.epsilon
        distributed.broadcast(values, src=0)
        accuracy, loss, epsilon = (float(v) for v in values)
        return Measurement(
            val_loss=None if np.isnan(loss) else loss,
            val_accuracy=accuracy,
            epsilon=None if np.isnan(epsilon) else epsilon,
        )

    def judge(self, net: AutoregressiveNet, record: EpochRecord, result: TrainingResult) -> bool:
        return self.policy.judge(net, record, result)

    def exhausted(self) -> StopReason:
        return self.policy.exhausted()

    def finish(self, net: AutoregressiveNet, steps: int) -> None:
        self.policy.finish(net, steps)


def agreed_out_of_time(started: float, limit: float | None) -> bool:
    """Whether any rank is past ``limit`` seconds: every rank asks at the same points of the
    loop, so every rank gets the same answer there (no limit: no question asked)."""
    if limit is None:
        return False
    late = torch.tensor([float(_out_of_time(started, limit))])
    distributed.all_reduce(late, op=distributed.ReduceOp.MAX)
    return bool(late.item())
