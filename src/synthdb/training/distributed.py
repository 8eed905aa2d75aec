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

What makes a training that lost a rank go on as if it had not (:class:`Checkpoint`):

- After each epoch rank 0 captures the whole state the next epoch starts from, as plain
  data (safetensors bytes and JSON, no pickle): the weights, AdamW's moments and step counts,
  the plateau schedule's state, the shuffling generator's state, the policy's best weights
  and counters, and the epoch records. New ranks given it restore it in ``start`` and the
  loop goes on at the next epoch (:class:`~synthdb.training.loop.Resume`).
- Every random draw of an epoch is a function of (seed, epoch, rank), not of how far a
  generator has run since the start: the shuffled order comes from the single process's
  generator, whose state is in the checkpoint, and dropout's masks from the global generator,
  which :class:`ShardedBatches` reseeds at the start of each epoch (:func:`dropout_seed`). So a
  resumed epoch draws what the uninterrupted one drew, and the weights come out the same.

:class:`ShardedStoredBatches` does the same for a table streamed from disk: every rank draws
:class:`~synthdb.training.store.StoredBatches`' windows and batches from the same rows (the
store's, shipped in memory), and its numpy generator's state is in the checkpoint too.

Nothing here knows Ray: :mod:`synthdb.pipeline.cluster_training` starts the ranks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import Tensor, distributed, nn
from torch.nn.parallel import DistributedDataParallel

from synthdb.model.network import AutoregressiveNet
from synthdb.training.loop import (
    EpochRecord,
    Measurement,
    Patience,
    Resume,
    ShuffledBatches,
    StoppingPolicy,
    StopReason,
    TrainingResult,
    _out_of_time,
)
from synthdb.training.store import ArrayTokens, StoredBatches

#: the step strategies a checkpoint captures: rows in memory, or read from a token store
Steps = ShuffledBatches | StoredBatches


def dropout_seed(seed: int, epoch: int, rank: int) -> int:
    """The global generator's seed for ``epoch`` on ``rank`` (dropout's masks): each rank its
    own masks, each epoch its own, and none depending on what ran before it."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class Checkpoint:
    """A data-parallel training's state after a completed epoch, as plain data: what new
    ranks need to go on at the next epoch exactly as the lost ones would have.

    Captured on rank 0 (every rank holds the same weights, optimiser and schedule), kept by
    whoever started the ranks (the Ray driver: no storage every node can reach is needed).
    """

    #: safetensors: ``net.*`` the weights, ``best.*`` the policy's kept weights,
    #: ``adamw.I.NAME`` AdamW's state of parameter I, ``shuffle`` the shuffling generator's
    tensors: bytes
    #: JSON: ``epoch``, ``steps``, ``records`` (the epochs so far), ``stop_reason`` (set when
    #: the loop ends after this epoch), AdamW's ``param_groups`` and per-parameter numbers,
    #: the ``schedule``'s state, the policy's ``waited`` and ``best_loss``; for stored rows
    #: ``blocks``, the block order's numpy generator's state
    state: str

    @classmethod
    def capture(
        cls,
        net: AutoregressiveNet,
        steps: Steps,
        policy: Patience,
        records: list[EpochRecord],
        done: int,
    ) -> Checkpoint:
        """The state after the last of ``records``, ``done`` steps in all (call it from the
        loop's ``on_epoch``: after the measurement, the schedule's step and the judgement)."""
        tensors = {f"net.{k}": v.clone() for k, v in net.state_dict().items()}
        tensors.update({f"best.{k}": v.clone() for k, v in policy.best_state.items()})
        tensors["shuffle"] = steps.generator.get_state()
        adamw = steps.optimizer.state_dict()
        numbers: dict[str, dict[str, Any]] = {}
        for index, values in adamw["state"].items():
            numbers[str(index)] = {}
            for name, value in values.items():
                if isinstance(value, Tensor):
                    tensors[f"adamw.{index}.{name}"] = value.clone()
                else:
                    numbers[str(index)][name] = value
        last = records[-1]
        converged = policy.waited >= policy.patience
        state = {
            "epoch": last.epoch,
            "steps": done,
            "records": [asdict(r) for r in records],
            "stop_reason": "converged"
            if converged
            else "max epochs"
            if last.epoch >= policy.max_epochs
            else None,
            "adamw": {"param_groups": adamw["param_groups"], "state": numbers},
            "schedule": steps.scheduler.state_dict(),
            "waited": policy.waited,
            "best_loss": policy.best_loss,
        }
        if isinstance(steps, StoredBatches):
            state["blocks"] = steps.rng.bit_generator.state
        return cls(save_tensors(tensors), json.dumps(state))

    @property
    def values(self) -> dict[str, Any]:
        return dict(json.loads(self.state))

    @property
    def epoch(self) -> int:
        return int(self.values["epoch"])

    def _tensors(self, prefix: str) -> dict[str, Tensor]:
        return {
            k[len(prefix) :]: v
            for k, v in load_tensors(self.tensors).items()
            if k.startswith(prefix)
        }

    def weights(self, kept: bool = False) -> dict[str, Tensor]:
        """The weights after the epoch, or (``kept``) the policy's kept weights."""
        return self._tensors("best." if kept else "net.")

    def result(self, batch_size: int) -> TrainingResult:
        """The loop's result so far; its stop reason is the checkpoint's, where it has one."""
        records = [EpochRecord(**r) for r in self.values["records"]]
        best = [r for r in records if r.best]
        return TrainingResult(
            self.values["stop_reason"] or "max epochs",
            best[-1].epoch if best else 0,
            best[-1].val_accuracy if best else Patience.no_accuracy,
            records,
            batch_size=batch_size,
        )

    def resume(self, batch_size: int) -> Resume:
        return Resume(self.result(batch_size), int(self.values["steps"]))

    def restore_steps(self, net: AutoregressiveNet, steps: Steps) -> None:
        """Load the weights, AdamW's and the schedule's state and the shuffling generator's
        into a strategy just started (``start`` sets the heads' biases, overwritten here)."""
        values = self.values
        net.load_state_dict(self.weights())
        adamw: dict[str, Any] = {"state": {}, "param_groups": values["adamw"]["param_groups"]}
        for group in adamw["param_groups"]:
            group["betas"] = tuple(group["betas"])  # a tuple, as AdamW made it (JSON: a list)
        for index, numbers in values["adamw"]["state"].items():
            adamw["state"][int(index)] = dict(numbers)
        for key, tensor in self._tensors("adamw.").items():
            index, name = key.split(".", 1)
            adamw["state"][int(index)][name] = tensor
        steps.optimizer.load_state_dict(adamw)
        steps.scheduler.load_state_dict(values["schedule"])
        steps.generator.set_state(load_tensors(self.tensors)["shuffle"])
        if isinstance(steps, StoredBatches):
            steps.rng.bit_generator.state = values["blocks"]

    def restore_policy(self, policy: StoppingPolicy) -> None:
        """Load the kept weights and the counters into a policy just started."""
        if not isinstance(policy, Patience):
            raise TypeError(f"a checkpoint restores Patience, not {type(policy).__name__}")
        values = self.values
        policy.best_state = self.weights(kept=True)
        policy.waited = int(values["waited"])
        policy.best_loss = float(values["best_loss"])


class _BatchLoss(nn.Module):
    """The network with its rank's part of the batch loss as ``forward``: DDP synchronises
    gradients through the wrapped module's forward call, and the loop calls ``loss``."""

    def __init__(self, net: AutoregressiveNet, world: int) -> None:
        super().__init__()
        self.net = net
        self.world = world

    def forward(self, tokens: Tensor, rows: int) -> Tensor:
        """The rank's ``tokens``' part of the mean loss of a batch of ``rows`` rows, times
        the world (DDP averages the ranks' gradients)."""
        return self.net.row_loss(tokens).sum() * (self.world / rows)


def _data_parallel(net: AutoregressiveNet, world: int) -> DistributedDataParallel:
    # ``static_graph``: the embeddings no hidden block sees (a number's position in its
    # bin, the last sub-column) never reach the loss, the same ones at every step. Without
    # it DDP waits for their gradients, never all-reduces the bucket they share with
    # others (the first layer's weight came back as the rank's own gradient), and fails
    # at the next step. Buffers (the first layer's mask) never change, so they need not
    # be sent at each step (only once, at the start).
    return DistributedDataParallel(
        _BatchLoss(net, world), forward_sync_buffers=False, static_graph=True
    )


def _lay_out_buckets(
    parallel: DistributedDataParallel, optimizer: torch.optim.Optimizer, row: Tensor
) -> None:
    """A throwaway backward pass (its gradients dropped, no optimiser step), so that DDP's
    gradient buckets are laid out as the uninterrupted training's are by now.

    DDP lays its buckets out again after its first backward pass, in the order the
    gradients came. With three ranks or more, where an element lies in its bucket decides
    the order gloo's ring adds the ranks' values in: a resumed training's first step in the
    first layout differed from the uninterrupted one's in the last bits (3.6e-7 after 3
    epochs on 3 workers). Its dropout draws come before the epoch's reseeding.
    """
    parallel(row, 1).backward()
    optimizer.zero_grad(set_to_none=True)


def _sharded_step(
    parallel: DistributedDataParallel,
    optimizer: torch.optim.Optimizer,
    rows: Tensor,
    batch_rows: int,
    world: int,
) -> float:
    """One step on the rank's ``rows`` of a batch of ``batch_rows``; the batch's mean loss."""
    loss = parallel(rows, batch_rows)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    # the batch's mean loss, as one process records it
    total = loss.detach() / world
    distributed.all_reduce(total)
    return float(total.item())


class _Ranked:
    """What both sharded step strategies add to their single-process class: the rank, the
    world, a checkpoint to resume from, the epoch, DDP, and dropout reseeded per (seed,
    epoch, rank) at each epoch, so that a training resumed from ``resume`` (a
    :class:`Checkpoint`) draws the masks it would have. Listed first among the bases, so its
    ``start``/``start_epoch`` wrap the single-process class's."""

    seed: int
    optimizer: torch.optim.AdamW
    parallel: DistributedDataParallel

    def _rank(self, rank: int, world: int, resume: Checkpoint | None) -> None:
        self.rank = rank
        self.world = world
        self.resume = resume
        #: the epoch being run (the first is 1)
        self.epoch = 0

    def _one_row(self) -> Tensor:
        """One of this rank's training rows, as int64 tokens (DDP's throwaway pass)."""
        raise NotImplementedError

    def start(self, net: AutoregressiveNet) -> None:
        super().start(net)  # type: ignore[misc]
        if self.resume is not None:
            self.resume.restore_steps(net, self)  # type: ignore[arg-type]
            self.epoch = self.resume.epoch
        self.parallel = _data_parallel(net, self.world)
        if self.resume is not None:
            _lay_out_buckets(self.parallel, self.optimizer, self._one_row())

    def start_epoch(self) -> None:
        self.epoch += 1
        torch.manual_seed(dropout_seed(self.seed, self.epoch, self.rank))
        super().start_epoch()  # type: ignore[misc]


class ShardedBatches(_Ranked, ShuffledBatches):
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
        resume: Checkpoint | None = None,
    ) -> None:
        ShuffledBatches.__init__(self, tokens, batch_size, learning_rate, seed)
        self._rank(rank, world, resume)

    def _one_row(self) -> Tensor:
        return self.data[self.rank : self.rank + 1]

    def step(self, net: AutoregressiveNet) -> float:
        idx = self._order[self._next * self.batch_size : (self._next + 1) * self.batch_size]
        self._next += 1
        rows = self.data[idx[self.rank :: self.world]]
        return _sharded_step(self.parallel, self.optimizer, rows, self.batch_size, self.world)


class ShardedStoredBatches(_Ranked, StoredBatches):
    """:class:`~synthdb.training.store.StoredBatches` on ``world`` ranks, as
    :class:`ShardedBatches` is :class:`ShuffledBatches`: every rank draws the single
    process's windows and batches from the same rows (``tokens``, a store's rows in memory,
    and its per-column ``counts`` for the heads) and steps on rows ``rank::world`` of each.
    """

    def __init__(
        self,
        tokens: ArrayTokens,
        batch_size: int,
        learning_rate: float,
        seed: int,
        *,
        rank: int,
        world: int,
        resume: Checkpoint | None = None,
    ) -> None:
        StoredBatches.__init__(self, tokens, batch_size, learning_rate, seed)
        self._rank(rank, world, resume)

    def _one_row(self) -> Tensor:
        return torch.from_numpy(self.store.read(self.rank, self.rank + 1).astype(np.int64))

    def step(self, net: AutoregressiveNet) -> float:
        batch = self.next_batch()
        rows = batch[self.rank :: self.world]
        return _sharded_step(self.parallel, self.optimizer, rows, len(batch), self.world)


class Agreed:
    """A stopping policy whose measurements are rank 0's, broadcast to every rank.

    Only rank 0 calls the wrapped policy's ``measure`` (it may be costly, or ask a driver);
    judging is the wrapped policy's own, on the same numbers everywhere, so every rank keeps
    the same best weights and stops at the same epoch. With ``resume`` the policy's state is
    the checkpoint's from the start.
    """

    def __init__(self, policy: StoppingPolicy, rank: int, resume: Checkpoint | None = None) -> None:
        self.policy = policy
        self.rank = rank
        self.resume = resume
        self.max_epochs = policy.max_epochs
        self.no_accuracy = policy.no_accuracy

    def start(self, net: AutoregressiveNet) -> None:
        self.policy.start(net)
        if self.resume is not None:
            self.resume.restore_policy(self.policy)

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
