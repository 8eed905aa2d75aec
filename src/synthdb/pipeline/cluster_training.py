"""Training on a Ray cluster (the ``ray`` extra): ``synthdb train --ray ADDRESS|auto``.

This process, the driver, reads the table, infers its schema and fits its encoders, as
without Ray; only the training loop runs elsewhere. :class:`RayRunner` is handed the loop's
parts by :meth:`Synthesizer.fit <synthdb.synthesizer.Synthesizer.fit>` and ships plain data
to ``workers`` Ray Train workers (``TorchTrainer``, one CPU each, PyTorch's gloo backend):
the token arrays through the object store, the network's shape, its initial weights as
safetensors bytes, and the loop's settings. Each worker runs the one loop
(:func:`~synthdb.training.loop.run`) data-parallel (:mod:`synthdb.training.distributed`):
the single process's batches, split between the workers, the same optimiser and schedule.
A table streamed from disk (:class:`~synthdb.training.store.StoredBatches`) ships its token
store's rows as stored (two bytes a token, from the file's map into the object store) with
its per-column counts, and the workers draw the single process's windows from them
(:class:`~synthdb.training.distributed.ShardedStoredBatches`).

The validation accuracy needs the encoders, which stay here: after each epoch rank 0 sends
its weights, this process scores them with the single process's validator and answers, and
rank 0 broadcasts the measurement to the others. Epoch records come the same way, for the
listeners; at the end rank 0 sends the kept (best epoch's) weights, which go into ``net``.
No model object is pickled; the model file is written by the caller, as without Ray.

A worker lost mid-training (its process or its node gone) is survived: with each epoch's
record rank 0 sends the training's state (a :class:`~synthdb.training.distributed.Checkpoint`:
safetensors bytes and JSON), this process keeps the last, and when Ray Train reports a lost
worker it starts new workers from it, at the next epoch, up to ``RETRIES`` times (one status
line each). Every draw of an epoch is a function of (seed, epoch, rank), so the model is the
uninterrupted training's. Past ``RETRIES`` the training fails (one line, ``ClusterError``)
and nothing is written. Ray Train's own retries (``FailureConfig(max_failures)``) would need
the checkpoint in storage every node reaches; the driver already holds what it needs.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

from synthdb.errors import ClusterError, SynthdbError, UsageError
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.pipeline import cluster
from synthdb.pipeline.cluster import _one_line, connect, import_ray, worker_count
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
    Resume,
    ShuffledBatches,
    StepStrategy,
    StoppingPolicy,
    TrainingListener,
    TrainingResult,
    run,
)
from synthdb.training.store import ArrayTokens, StoredBatches, TokenStore

#: the prefix of a training's Ray Train run name, for Ray's own listings
RUN_PREFIX = "synthdb-train-"
#: at most this often, a step's loss is sent to the driver's listeners (seconds)
STEP_EVERY = 0.5
#: how long the driver waits for a message before it checks that training still runs
POLL_SECONDS = 0.5
#: Ray Train's names for a worker whose process or node is gone (its health check failed),
#: where not an actor error
LOST_WORKER = ("WorkerHealthCheckFailedError", "WorkerHealthCheckTimeoutError")
#: what gloo says on the ranks still running when another one's process is gone (which Ray
#: Train may report alone, before the lost worker's health check fails)
LOST_PEER = "Connection closed by peer"


@dataclass(frozen=True)
class Job:
    """What every rank is given: plain numbers and arrays, and two queues to the driver."""

    #: the training rows' and validation rows' tokens, each a reference in a list (so Ray
    #: hands over the reference, and each rank reads the array from its node's store)
    tokens: list[Any]
    #: a streamed table's per-column token counts (the heads' start), its rows then drawn
    #: as :class:`~synthdb.training.store.StoredBatches` draws them; None: rows in memory
    counts: list[np.ndarray] | None
    val_tokens: list[Any]
    shape: dict[str, Any]
    #: the initial weights (safetensors): every rank starts where the single process does
    weights: bytes
    batch_size: int
    learning_rate: float
    seed: int
    max_epochs: int
    patience: int
    min_delta: float
    loss_counts: bool
    max_time: float | None
    #: rank 0 -> driver: progress, weights to score, checkpoints, the result
    events: Any
    #: driver -> rank 0: validation accuracies
    replies: Any
    #: where new workers go on after lost ones (None: from the start)
    resume: Checkpoint | None = None


@dataclass
class _Progress:
    """What the driver knows of a training across its attempts."""

    #: the last completed epoch's state
    checkpoint: Checkpoint | None = None
    #: the listeners were told the training started (new workers say it again)
    started: bool = False
    retries: int = 0
    began: float = field(default_factory=time.monotonic)


class _Lost(Exception):
    """Ray Train lost a worker: the attempt ended, new workers may go on."""


class RayRunner:
    """Runs the training loop on ``workers`` Ray workers of the cluster at ``address``
    (a :class:`~synthdb.training.loop.Runner`): a table's model without DP only."""

    def __init__(self, address: str, workers: int | None) -> None:
        self.address = address
        self.workers = workers

    def __call__(
        self,
        net: AutoregressiveNet,
        steps: StepStrategy,
        stopping: StoppingPolicy,
        listener: TrainingListener | None,
        max_time: float | None,
    ) -> TrainingResult:
        if (
            type(steps) not in (ShuffledBatches, StoredBatches)
            or not isinstance(steps, ShuffledBatches | StoredBatches)
            or type(stopping) is not Patience
        ):
            raise UsageError(
                "`ray` trains a table's model without differential privacy",
                hint="train here: leave `ray` out",
            )
        ray = import_ray()
        connected = connect(ray, self.address)
        storage = tempfile.mkdtemp(prefix="synthdb-ray-train-")
        try:
            count = worker_count(ray, self.workers)
            job = Job(
                tokens=[ray.put(_training_rows(steps))],
                counts=list(steps.store.counts) if isinstance(steps, StoredBatches) else None,
                val_tokens=[ray.put(stopping.val.numpy())],
                shape=net.shape.to_dict(),
                weights=save_weights(net.state_dict()),
                batch_size=steps.batch_size,
                learning_rate=steps.learning_rate,
                seed=steps.seed,
                max_epochs=stopping.max_epochs,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
                loss_counts=stopping.loss_counts,
                max_time=max_time,
                events=None,
                replies=None,
            )
            progress = _Progress()
            while True:
                try:
                    return _attempt(ray, job, count, storage, net, stopping, listener, progress)
                except _Lost:
                    if progress.checkpoint is not None and _ended(progress.checkpoint):
                        return _finish(
                            progress.checkpoint, net, steps.batch_size, listener, progress
                        )
                    _retry(progress, listener)
        finally:
            if connected:
                ray.shutdown()
            shutil.rmtree(storage, ignore_errors=True)


def _training_rows(steps: ShuffledBatches | StoredBatches) -> np.ndarray:
    """The rows the workers draw from: a streamed table's as stored (two bytes a token, read
    through the file's map into the object store, not onto this process's heap)."""
    if isinstance(steps, StoredBatches):
        store = steps.store
        return store.mapped() if isinstance(store, TokenStore) else store.tokens
    return steps.data.numpy()


def _attempt(
    ray: Any,
    job: Job,
    workers: int,
    storage: str,
    net: AutoregressiveNet,
    stopping: Patience,
    listener: TrainingListener | None,
    progress: _Progress,
) -> TrainingResult:
    """One Ray Train run, from ``progress``'s checkpoint where there is one; :class:`_Lost`
    when it lost a worker. Its queues are its own: a lost run's messages stay in them."""
    from ray.util.queue import Queue

    queues: list[Any] = []
    try:
        queues = [Queue(actor_options=_on_this_node(ray)) for _ in range(2)]
        remaining = None
        if job.max_time is not None:  # the time limit is the whole training's
            remaining = max(job.max_time - (time.monotonic() - progress.began), 0.0)
        job = replace(
            job,
            events=queues[0],
            replies=queues[1],
            resume=progress.checkpoint,
            max_time=remaining,
        )
        return _drive(
            _trainer(job, workers, storage), job, net, stopping.validate, listener, progress
        )
    finally:
        for queue in queues:
            with contextlib.suppress(Exception):  # already gone: nothing to end
                ray.kill(queue.actor, no_restart=True)


def _on_this_node(ray: Any) -> dict[str, Any]:
    """The queues' actor options: no CPU, on the driver's node where it has one, so that a
    lost worker node does not take them along (soft: a Ray Client's node may refuse them)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options: dict[str, Any] = {"num_cpus": 0}
    with contextlib.suppress(Exception):  # no node of our own: anywhere
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=True
        )
    return options


def _retry(progress: _Progress, listener: TrainingListener | None) -> None:
    """Count a lost worker and say where the training goes on, or fail past ``RETRIES``."""
    retries = cluster.RETRIES
    if progress.retries >= retries:
        raise ClusterError(
            f"lost a Ray worker more than {retries} times while training",
            hint="check the cluster's nodes and memory; nothing was written",
        )
    progress.retries += 1
    done = 0 if progress.checkpoint is None else progress.checkpoint.epoch
    where = "from the start" if done == 0 else f"from the end of epoch {done}"
    _say(
        listener,
        f"lost a Ray worker at epoch {done + 1}; resuming {where} "
        f"(retry {progress.retries} of {retries})",
    )


def _ended(checkpoint: Checkpoint) -> bool:
    return checkpoint.values["stop_reason"] is not None


def _finish(
    checkpoint: Checkpoint,
    net: AutoregressiveNet,
    batch_size: int,
    listener: TrainingListener | None,
    progress: _Progress,
) -> TrainingResult:
    """A training that had ended when the worker was lost (only rank 0's last message was
    missing): its kept weights and result are in the last checkpoint, nothing is left to run,
    and no retry is counted."""
    net.load_state_dict(checkpoint.weights(kept=True))
    net.eval()
    result = checkpoint.result(batch_size)
    result.seconds = time.monotonic() - progress.began
    if listener is not None:
        listener.on_stop(result)
    return result


def _say(listener: TrainingListener | None, line: str) -> None:
    """A status line to the pipeline's listener (the CLI prints it), where it takes one."""
    say = getattr(listener, "on_message", None)
    if callable(say):
        say(line)


def _trainer(job: Job, workers: int, storage: str) -> Any:
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    return TorchTrainer(
        train_rank,
        train_loop_config={"job": job},
        torch_config=TorchConfig(backend="gloo"),
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False),
        run_config=RunConfig(
            name=f"{RUN_PREFIX}{secrets.token_hex(4)}",
            storage_path=storage,
            failure_config=FailureConfig(max_failures=0),
        ),
    )


def _drive(
    trainer: Any,
    job: Job,
    net: AutoregressiveNet,
    validate: Callable[[AutoregressiveNet], float],
    listener: TrainingListener | None,
    progress: _Progress,
) -> TrainingResult:
    """Run ``trainer`` in a thread and serve rank 0's messages here until it is done; on
    return ``net`` holds the kept weights, in eval mode. Each epoch's checkpoint goes into
    ``progress``; :class:`_Lost` when Ray Train lost a worker before the end."""
    from ray.util.queue import Empty

    outcome: dict[str, BaseException] = {}

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # handed to the driver's thread
            outcome["error"] = exc

    thread = threading.Thread(target=fit, name="synthdb-ray-train", daemon=True)
    thread.start()
    done: tuple[Any, ...] | None = None
    try:
        while done is None:
            try:
                message = job.events.get(timeout=POLL_SECONDS)
            except Empty:
                if thread.is_alive():
                    continue
                if job.events.empty():
                    break
                continue
            kind = message[0]
            if kind == "validate":
                net.load_state_dict(load_weights(message[1]))
                net.eval()
                job.replies.put(validate(net))
            elif kind == "done":
                done = message
            elif kind == "epoch":
                # kept before the listeners hear of the epoch: it is complete from now on
                progress.checkpoint = Checkpoint(message[2], message[3])
                if listener is not None:
                    listener.on_epoch(EpochRecord(**message[1]))
            elif kind == "start":
                if listener is not None and not progress.started:
                    listener.on_start(message[1], message[2])
                progress.started = True
            elif listener is not None:
                listener.on_step(message[1], message[2], message[3])
    except BaseException:
        # ends rank 0's next call to the driver, and with it the training
        with contextlib.suppress(Exception):
            import ray

            ray.kill(job.events.actor, no_restart=True)
            ray.kill(job.replies.actor, no_restart=True)
        thread.join(timeout=30)
        raise
    thread.join()
    error = outcome.get("error")
    # a worker lost after rank 0 sent the result takes nothing from it
    if error is not None and (done is None or not _lost(error)):
        if _lost(error):
            raise _Lost() from None
        raise _failure(error) from None
    if done is None:
        raise ClusterError("training on Ray ended without a result", hint="nothing was written")
    net.load_state_dict(load_weights(done[1]))
    net.eval()
    result = TrainingResult.from_dict(done[2])
    result.seconds = time.monotonic() - progress.began
    if listener is not None:
        listener.on_stop(result)
    return result


def _lost(error: BaseException) -> bool:
    """Whether Ray Train failed because a worker's process or node is gone (not our error)."""
    from ray import exceptions

    failures = list(getattr(error, "worker_failures", {}).values())
    causes = [error, *failures]
    if any(
        isinstance(c, SynthdbError) for c in [*causes, *(getattr(c, "cause", None) for c in causes)]
    ):
        return False
    # the others then fail waiting for its gradients: either says a worker is gone
    return any(
        isinstance(f, exceptions.RayActorError)
        or type(f).__name__ in LOST_WORKER
        or LOST_PEER in str(f)
        for f in failures
    )


def _failure(error: BaseException) -> SynthdbError:
    """Ray Train's failure as one line (a worker's own error, where it was ours)."""
    failures = list(getattr(error, "worker_failures", {}).values())
    causes = [error, *failures]
    for cause in [*causes, *(getattr(c, "cause", None) for c in causes)]:
        if isinstance(cause, SynthdbError):
            return type(cause)(cause.message, cause.hint)
    worst = causes[-1]
    return ClusterError(
        f"training on Ray failed: {type(worst).__name__}: {_one_line(worst)}",
        hint="check the cluster's nodes and memory; nothing was written",
    )


# ------------------------------------------------------------------------ on the workers
def train_rank(config: dict[str, Any]) -> None:
    """One rank's training (Ray Train runs it on every worker, in a gloo process group)."""
    import ray
    import ray.train

    job: Job = config["job"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(1)  # one CPU per worker; Ray reserves it
    net = AutoregressiveNet(NetworkShape.from_dict(job.shape))
    net.load_state_dict(load_weights(job.weights))
    steps: ShardedBatches | ShardedStoredBatches
    if job.counts is None:
        steps = ShardedBatches(
            ray.get(job.tokens[0]),
            job.batch_size,
            job.learning_rate,
            job.seed,
            rank=rank,
            world=world,
            resume=job.resume,
        )
    else:
        steps = ShardedStoredBatches(
            ArrayTokens(ray.get(job.tokens[0]), job.counts),
            job.batch_size,
            job.learning_rate,
            job.seed,
            rank=rank,
            world=world,
            resume=job.resume,
        )
    patience = Patience(
        ray.get(job.val_tokens[0]),
        _AskDriver(job) if rank == 0 else _unmeasured,
        max_epochs=job.max_epochs,
        patience=job.patience,
        min_delta=job.min_delta,
        loss_counts=job.loss_counts,
    )
    resume = None if job.resume is None else job.resume.resume(steps.batch_size)
    result = run(
        net,
        steps,
        Agreed(patience, rank, job.resume),
        _ToDriver(job, net, steps, patience, resume) if rank == 0 else None,
        job.max_time,
        clock=agreed_out_of_time,
        resume=resume,
    )
    if rank == 0:
        job.events.put(("done", save_weights(net.state_dict()), result.to_dict()))


class _AskDriver:
    """Rank 0's validation: the driver scores the weights (it holds the encoders)."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def __call__(self, net: AutoregressiveNet) -> float:
        self.job.events.put(("validate", save_weights(net.state_dict())))
        return float(self.job.replies.get())


def _unmeasured(net: AutoregressiveNet) -> float:
    return float(np.nan)  # never called: only rank 0 measures (:class:`Agreed`)


class _ToDriver:
    """Rank 0's listener: the loop's progress, sent to the driver's listeners, and with each
    epoch's record the training's state after it (the driver's checkpoint)."""

    def __init__(
        self,
        job: Job,
        net: AutoregressiveNet,
        steps: ShardedBatches | ShardedStoredBatches,
        policy: Patience,
        resume: Resume | None,
    ) -> None:
        self.job = job
        self.net = net
        self.steps = steps
        self.policy = policy
        self.records = [] if resume is None else list(resume.result.epochs)
        self.done = 0 if resume is None else resume.steps
        self.sent = 0.0

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.job.events.put(("start", max_epochs, steps_per_epoch))

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.sent >= STEP_EVERY:
            self.sent = now
            self.job.events.put(("step", epoch, step, loss))

    def on_epoch(self, record: EpochRecord) -> None:
        self.records.append(record)
        state = Checkpoint.capture(self.net, self.steps, self.policy, self.records, self.done)
        self.job.events.put(("epoch", asdict(record), state.tensors, state.state))

    def on_stop(self, result: TrainingResult) -> None:
        pass  # the driver says it, with the result rank 0 sends
