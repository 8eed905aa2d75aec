"""One training loop for every face (CLI, Python, web UI) and for both kinds of training.

:func:`run` is the loop: epochs of steps, a measurement after each epoch, a stop. What varies
is passed in:

- a :class:`StepStrategy` takes each step: :class:`ShuffledBatches` (shuffled passes, AdamW on
  the network's cross-entropy, the learning rate halved when validation loss stalls), or under
  differential privacy Poisson batches with a clipped, noised gradient
  (:class:`synthdb.privacy.dpsgd.PoissonSteps`);
- a :class:`StoppingPolicy` measures and stops: :class:`Patience` (the accuracy of DESIGN.md
  section 5 on the held-out slice after each epoch, the best epoch's weights restored), or
  under DP the budget (:class:`synthdb.privacy.training.BudgetSpent`: no early stopping, every
  epoch until the planned steps are spent).

Either way ``max_time`` and Ctrl-C stop it, and progress goes to listeners through
:class:`TrainingListener`, so no presentation lives here. The protocols are defined here and
the DP halves live in ``privacy/``, so this module imports nothing from it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

from synthdb.config import DEFAULT_BATCH
from synthdb.model.network import AutoregressiveNet

StopReason = Literal["converged", "max epochs", "time limit", "interrupted", "privacy budget spent"]


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    val_loss: float
    val_accuracy: float
    seconds: float
    best: bool = False
    #: under differential privacy: the ledger's total epsilon after this epoch
    epsilon: float | None = None


@dataclass
class TrainingResult:
    stop_reason: StopReason
    best_epoch: int
    best_accuracy: float
    epochs: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0
    batch_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingResult:
        values = dict(data)
        values["epochs"] = [EpochRecord(**e) for e in values.get("epochs", [])]
        return cls(**values)


class TrainingListener(Protocol):
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None: ...
    def on_step(self, epoch: int, step: int, loss: float) -> None: ...
    def on_epoch(self, record: EpochRecord) -> None: ...
    def on_stop(self, result: TrainingResult) -> None: ...


class QuietListener:
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        pass

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        pass

    def on_epoch(self, record: EpochRecord) -> None:
        pass

    def on_stop(self, result: TrainingResult) -> None:
        pass


@dataclass(frozen=True)
class LoopSettings:
    max_epochs: int
    patience: int
    min_delta: float
    learning_rate: float
    batch_size: int
    max_time: float | None
    seed: int
    #: also count a validation loss lower by :data:`LOSS_DELTA` as an improvement (models of
    #: ordered children: see below)
    loss_counts: bool = False


#: Relative fall of the validation loss that counts as progress when ``loss_counts``. For a
#: sequence's elements, validation accuracy (row by row) levels off long before the model has
#: learned what follows what: on nycflights13's flights per plane it reached 0.963 at epoch 8
#: and then moved by noise, while the validation loss fell from 39.98 to 37.62 by epoch 38, and
#: mostlyai-qa's coherence rose from 0.879 (stopped at 8) to 0.894 (40 epochs).
LOSS_DELTA = 0.001


#: An epoch is one pass over the training rows, or this many steps where a pass is fewer (the
#: rows are then reshuffled and passed again within the epoch). A table of 59 rows otherwise
#: gets one step per epoch, and early stopping ends training after a dozen steps with the
#: model barely past its initial marginals (Chinook's Customer: 0.953 -> 0.963, Employee:
#: 0.921 -> 0.953, mean of 5 seeds). Tables of 1,024 rows or more are not affected.
MIN_STEPS_PER_EPOCH = 32


def default_batch_size(rows: int) -> int:
    """About 64 steps per epoch (:data:`synthdb.config.DEFAULT_BATCH`: a power of two between
    32 and 1024), never above the rows."""
    rule = DEFAULT_BATCH
    target = 2 ** round(math.log2(max(rows / rule.per, 1)))
    return int(max(1, min(rows, max(rule.low, min(rule.high, target)))))


@dataclass(frozen=True)
class Measurement:
    """What a stopping policy measured after an epoch."""

    #: validation loss; None when there is none (no held-out rows, or under DP)
    val_loss: float | None = None
    val_accuracy: float = float("nan")
    #: under differential privacy: the epsilon spent so far
    epsilon: float | None = None


class StepStrategy(Protocol):
    """How the loop takes a gradient step: which rows, which gradient, which optimiser."""

    #: rows per step (expected rows, for Poisson batches): recorded in the result
    batch_size: int
    steps_per_epoch: int

    def start(self, net: AutoregressiveNet) -> None:
        """Set up the optimiser (and whatever else) for ``net``, before the first step."""
        ...

    def start_epoch(self) -> None: ...

    def step(self, net: AutoregressiveNet) -> float:
        """One step; the batch's mean loss, or NaN where the loss must not be recorded."""
        ...

    def end_epoch(self, val_loss: float | None) -> None:
        """After the epoch's measurement (a learning-rate schedule reads the loss)."""
        ...


class StoppingPolicy(Protocol):
    """When the loop stops, what it measures after each epoch and which weights it keeps."""

    #: the most epochs to run
    max_epochs: int
    #: ``TrainingResult.best_accuracy`` before any epoch
    no_accuracy: float

    def start(self, net: AutoregressiveNet) -> None: ...

    def may_step(self, steps: int) -> bool:
        """Whether one more step is allowed after ``steps`` steps in all."""
        ...

    def measure(self, net: AutoregressiveNet, steps: int) -> Measurement: ...

    def judge(self, net: AutoregressiveNet, record: EpochRecord, result: TrainingResult) -> bool:
        """Mark ``record`` best (and note it in ``result``) or not; True: stop, converged."""
        ...

    def exhausted(self) -> StopReason:
        """The stop reason when every epoch ran."""
        ...

    def finish(self, net: AutoregressiveNet, steps: int) -> None:
        """After the last epoch (or Ctrl-C): restore the weights to keep, record the cost."""
        ...


@dataclass(frozen=True)
class Resume:
    """Where a run interrupted after a completed epoch goes on (a Ray training that lost a
    worker): the epochs already run and the steps taken. The weights, the optimiser's, the
    schedule's and the policy's state are not here: the strategy and the policy restore
    their own in ``start`` (:mod:`synthdb.training.distributed`)."""

    #: the result so far: its epochs are the completed ones, its best epoch the best so far
    result: TrainingResult
    steps: int


def run(
    net: AutoregressiveNet,
    steps: StepStrategy,
    stopping: StoppingPolicy,
    listener: TrainingListener | None = None,
    max_time: float | None = None,
    *,
    clock: Clock | None = None,
    resume: Resume | None = None,
) -> TrainingResult:
    """The training loop: epochs of ``steps``, measured and stopped by ``stopping``.

    Stops when the policy says so (converged, or no step left), after ``max_epochs``, after
    ``max_time`` seconds (at the end of the current step, as ``clock`` tells: ranks of a
    distributed training must agree) or on Ctrl-C after the first epoch; on return ``net``
    holds the weights the policy keeps, in eval mode. ``resume`` goes on after its epochs.
    """
    out_of_time = clock or _out_of_time
    listener = listener or QuietListener()
    steps.start(net)
    stopping.start(net)
    result = TrainingResult("max epochs", 0, stopping.no_accuracy, batch_size=steps.batch_size)
    started = time.monotonic()
    done = 0
    first = 1
    if resume is not None:
        result, done = copy.deepcopy(resume.result), resume.steps
        first = len(result.epochs) + 1
    listener.on_start(stopping.max_epochs, steps.steps_per_epoch)
    try:
        for epoch in range(first, stopping.max_epochs + 1):
            epoch_start = time.monotonic()
            net.train()
            steps.start_epoch()
            total = 0.0
            taken = 0
            for step in range(steps.steps_per_epoch):
                if not stopping.may_step(done):
                    break
                loss = steps.step(net)
                done += 1
                total += loss
                taken += 1
                listener.on_step(epoch, step + 1, loss)
                if out_of_time(started, max_time):
                    break
            net.eval()
            measured = stopping.measure(net, done)
            steps.end_epoch(measured.val_loss)
            record = EpochRecord(
                epoch=epoch,
                loss=total / max(taken, 1),
                val_loss=float("nan") if measured.val_loss is None else measured.val_loss,
                val_accuracy=measured.val_accuracy,
                seconds=time.monotonic() - epoch_start,
                epsilon=measured.epsilon,
            )
            converged = stopping.judge(net, record, result)
            result.epochs.append(record)
            listener.on_epoch(record)
            if converged:
                result.stop_reason = "converged"
                break
            if out_of_time(started, max_time):
                result.stop_reason = "time limit"
                break
        else:
            result.stop_reason = stopping.exhausted()
    except KeyboardInterrupt:
        result.stop_reason = "interrupted"
        if not result.epochs:
            raise
    stopping.finish(net, done)
    net.eval()
    result.seconds = time.monotonic() - started
    listener.on_stop(result)
    return result


#: Whether ``limit`` seconds have passed since ``started`` (a ``time.monotonic()``).
Clock = Callable[[float, float | None], bool]


class Runner(Protocol):
    """What runs the loop: :func:`run` here, or a cluster's ranks
    (:mod:`synthdb.pipeline.cluster_training`), leaving the same weights in ``net``."""

    def __call__(
        self,
        net: AutoregressiveNet,
        steps: StepStrategy,
        stopping: StoppingPolicy,
        listener: TrainingListener | None,
        max_time: float | None,
    ) -> TrainingResult: ...


def adamw(net: AutoregressiveNet, learning_rate: float) -> torch.optim.AdamW:
    """The optimiser of plain (non-DP) training: AdamW without weight decay.

    ``fused``: one kernel updates every parameter (PyTorch's CPU kernel since 2.4). The
    default loops over the parameters in Python, a dozen small operations each: 7.5 ms of a
    96 ms step on nycflights13 (86 parameters), 2 ms fused.
    """
    return torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=0.0, fused=True)


class ShuffledBatches:
    """Steps over shuffled passes of the training rows, AdamW, and the learning rate halved
    when the validation loss stalls (as TabularARGN does), down to a tenth.

    Heads start at the training rows' own token frequencies (exact counts: no DP here).
    """

    def __init__(
        self, tokens: np.ndarray, batch_size: int, learning_rate: float, seed: int
    ) -> None:
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.data = torch.from_numpy(tokens.astype(np.int64))
        self.rows = self.data.shape[0]
        self.batch_size = min(batch_size, self.rows)
        self.steps_per_epoch = max(MIN_STEPS_PER_EPOCH, self.rows // self.batch_size)
        # whole shuffled passes an epoch draws its batches from
        self.passes = -(-self.steps_per_epoch * self.batch_size // self.rows)
        self.learning_rate = learning_rate
        self._order = torch.empty(0, dtype=torch.int64)
        self._next = 0

    def start(self, net: AutoregressiveNet) -> None:
        net.init_marginals(self.data)
        self.optimizer = adamw(net, self.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=0.5, patience=2, min_lr=0.1 * self.learning_rate
        )

    def start_epoch(self) -> None:
        self._order = torch.cat(
            [torch.randperm(self.rows, generator=self.generator) for _ in range(self.passes)]
        )
        self._next = 0

    def step(self, net: AutoregressiveNet) -> float:
        idx = self._order[self._next * self.batch_size : (self._next + 1) * self.batch_size]
        self._next += 1
        loss = net.loss(self.data[idx])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return float(loss.item())

    def end_epoch(self, val_loss: float | None) -> None:
        if val_loss is not None:
            self.scheduler.step(val_loss)


class Patience:
    """Stop when validation accuracy has not improved by ``min_delta`` (for ordered children:
    nor the validation loss by :data:`LOSS_DELTA`) for ``patience`` epochs; keep the best
    epoch's weights."""

    no_accuracy = -1.0

    def __init__(
        self,
        val_tokens: np.ndarray,
        validate: Callable[[AutoregressiveNet], float],
        *,
        max_epochs: int,
        patience: int,
        min_delta: float,
        loss_counts: bool = False,
    ) -> None:
        self.val = torch.from_numpy(val_tokens.astype(np.int64))
        self.validate = validate
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.loss_counts = loss_counts
        self.waited = 0
        self.best_loss = math.inf
        self.best_state: dict[str, torch.Tensor] = {}

    def start(self, net: AutoregressiveNet) -> None:
        self.best_state = copy.deepcopy(net.state_dict())

    def may_step(self, steps: int) -> bool:
        return True

    def measure(self, net: AutoregressiveNet, steps: int) -> Measurement:
        val_loss = None
        if len(self.val):
            with torch.inference_mode():
                val_loss = float(net.loss(self.val))
        return Measurement(val_loss=val_loss, val_accuracy=self.validate(net))

    def judge(self, net: AutoregressiveNet, record: EpochRecord, result: TrainingResult) -> bool:
        improved = record.val_accuracy > result.best_accuracy + self.min_delta
        if self.loss_counts and record.val_loss < self.best_loss * (1 - LOSS_DELTA):
            improved = True
        if improved or result.best_epoch == 0:
            self.best_state = copy.deepcopy(net.state_dict())
            record.best = True
            result.best_epoch, result.best_accuracy = record.epoch, record.val_accuracy
            self.best_loss = record.val_loss
            self.waited = 0
        else:
            self.waited += 1
        return self.waited >= self.patience

    def exhausted(self) -> StopReason:
        return "max epochs"

    def finish(self, net: AutoregressiveNet, steps: int) -> None:
        net.load_state_dict(self.best_state)


def train(
    net: AutoregressiveNet,
    train_tokens: np.ndarray,
    val_tokens: np.ndarray,
    settings: LoopSettings,
    validate: Callable[[AutoregressiveNet], float],
    listener: TrainingListener | None = None,
) -> TrainingResult:
    """Train ``net`` in place without DP (:class:`ShuffledBatches`, :class:`Patience`); on
    return it holds the weights of the best epoch."""
    return run(
        net,
        ShuffledBatches(train_tokens, settings.batch_size, settings.learning_rate, settings.seed),
        Patience(
            val_tokens,
            validate,
            max_epochs=settings.max_epochs,
            patience=settings.patience,
            min_delta=settings.min_delta,
            loss_counts=settings.loss_counts,
        ),
        listener,
        settings.max_time,
    )


def _out_of_time(started: float, limit: float | None) -> bool:
    return limit is not None and time.monotonic() - started >= limit
