"""Generation on a Ray cluster (the ``ray`` extra): ``synthdb generate --ray ADDRESS|auto``.

One process draws a table's rows in batches of ``SAMPLE_BATCH`` rows, batch ``i`` from its
own seeds (``(seed, i)``) and its keys from its first row's index (``Synthesizer._draw``), and
writes them in order. Here a *shard* is a run of whole batches: a worker anywhere draws exactly
the rows one process draws for those batches, packs them for the sink (CSV rows formatted,
Parquet rows as an Arrow table), and this process, the driver, writes the shards in order as
they come, through the same sink. So the output is the single process's, byte for byte,
whatever the number of workers, shards or retries. A model of sequences is drawn alike, in
shards of whole chunks of sequences (each chunk from its own seed).

A database's twin is drawn by :meth:`DatabaseModel.generate` here, which asks for each
table's draw (its rows under their parents' tokens, from the table's own seed) as soon as
the table's parent is done: the workers draw it, in shards of whole batches, while the driver
goes on, so tables of one depth are drawn at once. Everything else (keys, references, rules)
is done here, in the single process's order, and the database is written as without Ray.

Workers are Ray actors, ``workers`` of them (default: the cluster's CPUs), each on one CPU
and one thread. Each gets the model file's bytes from the object store and loads them with the
safe loader (JSON + safetensors), once: no model object is ever pickled. For a table, the
driver keeps at most two shards per worker in flight, so its memory is a few shards whatever
``rows`` is (a database's twin is held in memory anyway, as without Ray). A worker lost
mid-job (its process killed, its node gone) is restarted by Ray and its unfinished shards are
drawn again, up to ``RETRIES`` times; past that the job fails and, as for any failure, nothing
is left written.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from synthdb.errors import ClusterError, SynthdbError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthdb.io._locations import FileFormat
    from synthdb.io.sinks import Packed, Sink
    from synthdb.pipeline.events import ModelKind
    from synthdb.relational.model import DatabaseModel, Drawn

INSTALL = "pip install 'synthdb[ray]'"
#: times Ray restarts a lost worker, and draws its unfinished shards again
RETRIES = 3
#: batches per shard at most: a shard is the unit of retry and of the driver's memory
MAX_SHARD_BATCHES = 8
#: the prefix of our actors' names (``synthdb-generate-JOB-I``), for ``ray list actors``
ACTOR_PREFIX = "synthdb-generate-"


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise UsageError("`ray` needs Ray, which is not installed", hint=INSTALL) from None
    return ray


def check_workers(ray: str | None, workers: int | None) -> None:
    """``workers`` only with ``ray``, and at least 1. (Before any slow step.)"""
    if workers is None:
        return
    if ray is None:
        raise UsageError(
            "`workers` is the number of Ray workers: it needs `ray`",
            hint="pass `ray` auto (or the cluster's address), or leave `workers` out",
        )
    if workers < 1:
        raise UsageError(f"`workers` must be at least 1 (got {workers})")


def shards(rows: int, workers: int, batch_rows: int) -> list[range]:
    """Runs of whole batches: about four per worker (so a slow or restarted worker holds up
    little), at most ``MAX_SHARD_BATCHES`` batches each. Any split gives the same output."""
    batches = math.ceil(rows / batch_rows)
    size = max(1, min(MAX_SHARD_BATCHES, math.ceil(batches / (4 * workers))))
    return [range(start, min(start + size, batches)) for start in range(0, batches, size)]


class _Loading:
    """A Ray worker that loads the job's model at its first call, from a reference to the
    model file's bytes in the object store. The reference comes inside a list so that Ray
    hands over the reference, not the bytes, with every call: a restarted worker (which Ray
    builds again from the constructor's arguments alone) loads it again from there."""

    _kind: ModelKind = "table"

    def __init__(self) -> None:
        self._model: Any = None

    def _load(self, model: Any) -> Any:
        if self._model is None:
            import ray
            import torch

            torch.set_num_threads(1)  # one CPU per worker; Ray reserves it
            with tempfile.TemporaryDirectory(prefix="synthdb-") as folder:
                path = Path(folder) / "model.synthdb"
                path.write_bytes(ray.get(model))
                self._model = _loader(self._kind)(path)  # the safe loader: no pickle
        return self._model


def _loader(kind: ModelKind) -> Any:
    if kind == "database":
        from synthdb.relational.model import DatabaseModel

        return DatabaseModel.load
    if kind == "sequences":
        from synthdb.relational.sequence_table import SequenceModel

        return SequenceModel.load
    from synthdb.synthesizer import Synthesizer

    return Synthesizer.load


class Drawer(_Loading):
    """One Ray worker: draws shards of one job's rows (or sequences), packed for the sink."""

    def __init__(self, kind: ModelKind, rows: int, seed: int, packing: FileFormat | None) -> None:
        super().__init__()
        self._kind = kind
        self._rows = rows
        self._seed = seed
        self._packing = packing

    def draw(self, model: list[Any], batches: range) -> list[Packed]:
        from synthdb.io.sinks import pack

        loaded = self._load(model[0])
        if self._kind == "sequences":
            frames = loaded.iter_sequences(self._rows, seed=self._seed, chunks=batches)
        else:
            frames = loaded.iter_samples(self._rows, seed=self._seed, workers=1, batches=batches)
        return [pack(frame, self._packing) for frame in frames]


class TableDrawer(_Loading):
    """One Ray worker of a database's twin: draws shards of the tables' draws."""

    _kind: ModelKind = "database"

    def draw(
        self,
        model: list[Any],
        table: str,
        context: np.ndarray,
        seed: int,
        batch_rows: int,
        first_batch: int,
    ) -> list[tuple[pd.DataFrame, np.ndarray]]:
        synthesizer = self._load(model[0]).models[table].synthesizer
        return synthesizer.given_batches(
            context, seed=seed, batch_rows=batch_rows, first_batch=first_batch, workers=1
        )


#: Tries to reach a cluster through Ray Client, and the pause before the next (times the try).
CLIENT_ATTEMPTS = 3
CLIENT_RETRY_SECONDS = 2.0


def connect(ray: ModuleType, address: str) -> bool:
    """Connect to the cluster at ``address`` (``auto``: the one this machine belongs to,
    ``ray://host:10001``: through Ray Client); True if this call made the connection. A
    process already connected keeps its connection."""
    if ray.is_initialized():
        return False
    # workers' output would interleave with ours (through Ray Client too: its cluster's log
    # lines came between a training's epoch lines)
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    # Ray Client's head starts a server process for each client, and gives up when that
    # takes long on a busy head ("Starting Ray client server failed"): worth another try
    # (seen once in 20 runs of the suite on a loaded 2-core machine).
    attempts = CLIENT_ATTEMPTS if address.startswith("ray://") else 1
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, **options)
            return True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            # the head answered but its client server did not start (Ray raises
            # ConnectionAbortedError with the server's traceback); nothing listening is a
            # plain ConnectionError and is not retried
            if attempt < attempts and isinstance(exc, (ConnectionAbortedError, RuntimeError)):
                ray.shutdown()
                time.sleep(CLIENT_RETRY_SECONDS * attempt)
                continue
            raise ClusterError(
                # Ray's first sentence; the rest names its own flags
                f"cannot connect to the Ray cluster at {address}: {_one_line(exc).split('. ')[0]}",
                hint="start one with 'ray start --head', or pass its address",
            ) from None
    return True


def worker_count(ray: ModuleType, workers: int | None) -> int:
    """``workers``, or the cluster's CPUs. More workers than CPUs would wait for a CPU that
    the others never give back, so that is refused."""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < 1:
        raise ClusterError("the Ray cluster has no CPUs", hint="add a node with CPUs to it")
    if workers is not None and workers > cpus:
        raise UsageError(
            f"`workers` is {workers} but the Ray cluster has {cpus} CPUs",
            hint=f"pass `workers` {cpus} or less, or leave it out",
        )
    return cpus if workers is None else workers


class _Pool:
    """A job's ``count`` Ray actors of one class, one CPU each, spread over the nodes, each
    restarted (and its unfinished calls made again) up to ``RETRIES`` times. Each call goes
    to the actor with the fewest calls not yet collected."""

    def __init__(self, ray: ModuleType, actor: type, count: int, *args: Any) -> None:
        self._ray = ray
        remote = ray.remote(
            num_cpus=1,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
            scheduling_strategy="SPREAD",
        )(actor)
        job = secrets.token_hex(4)
        self._actors = [
            remote.options(name=f"{ACTOR_PREFIX}{job}-{i}").remote(*args) for i in range(count)
        ]
        self._queued = [0] * count

    @property
    def count(self) -> int:
        return len(self._actors)

    def submit(self, method: str, *args: Any) -> tuple[int, Any]:
        actor = min(range(self.count), key=self._queued.__getitem__)
        self._queued[actor] += 1
        return actor, getattr(self._actors[actor], method).remote(*args)

    def collect(self, call: tuple[int, Any]) -> Any:
        actor, result = call
        try:
            return _get(self._ray, result)
        finally:
            self._queued[actor] -= 1

    def end(self) -> None:
        for handle in self._actors:
            with contextlib.suppress(Exception):  # already gone: nothing to end
                self._ray.kill(handle, no_restart=True)


@contextlib.contextmanager
def _connected(address: str) -> Iterator[ModuleType]:
    """Ray, connected to the cluster at ``address`` (and disconnected after, if this call
    connected)."""
    ray = import_ray()
    connected = connect(ray, address)
    try:
        yield ray
    finally:
        if connected:
            ray.shutdown()


def draw_shards(
    model: bytes,
    sink: Sink,
    rows: int,
    seed: int,
    *,
    address: str,
    workers: int | None,
    batch_rows: int,
    kind: ModelKind = "table",
) -> Iterator[Packed]:
    """The job's batches in order, drawn by Ray workers, packed for ``sink``: of a table's
    model, ``rows`` rows in batches of ``batch_rows``; of a model of sequences, ``rows``
    sequences in chunks of ``batch_rows``.

    Connects first (and disconnects at the end if it connected); the workers are ended when
    the iterator is closed, finished or not.
    """
    with _connected(address) as ray:
        count = worker_count(ray, workers)
        plan = shards(rows, count, batch_rows)
        pool = _Pool(ray, Drawer, min(count, len(plan)), kind, rows, seed, sink.packing)
        try:
            stored = ray.put(model)
            pending: deque[tuple[int, Any]] = deque()
            submitted = 0
            while submitted < len(plan) or pending:
                while submitted < len(plan) and len(pending) < 2 * pool.count:
                    pending.append(pool.submit("draw", [stored], plan[submitted]))
                    submitted += 1
                packed: list[Packed] = pool.collect(pending.popleft())
                yield from packed
        finally:
            pool.end()


def draw_twin(
    model: bytes,
    twin: DatabaseModel,
    *,
    scale: float,
    seed: int,
    address: str,
    workers: int | None,
    on_table: Callable[[str, int], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """``twin.generate(scale=scale, seed=seed)`` with every table's draw made by Ray workers,
    in shards of whole batches: the same tables. ``model`` is ``twin``'s file."""
    from synthdb.relational import model as relational

    with _connected(address) as ray:
        pool = _Pool(ray, TableDrawer, worker_count(ray, workers))
        try:
            stored = ray.put(model)
            batch_rows = relational.DRAW_BATCH

            def draws(table: str, context: np.ndarray, draw_seed: int) -> Drawn:
                calls = [
                    pool.submit(
                        "draw",
                        [stored],
                        table,
                        context[shard.start * batch_rows : shard.stop * batch_rows],
                        draw_seed,
                        batch_rows,
                        shard.start,
                    )
                    for shard in shards(len(context), pool.count, batch_rows)
                ]
                synthesizer = twin.models[table].synthesizer
                assert synthesizer is not None
                return lambda: synthesizer.joined(
                    [part for call in calls for part in pool.collect(call)]
                )

            return twin.generate(scale=scale, seed=seed, draws=draws, on_table=on_table)
        finally:
            pool.end()


def _get(ray: ModuleType, result: Any) -> Any:
    """``ray.get``, with Ray's failures turned into one line."""
    from ray import exceptions

    try:
        return ray.get(result)
    except exceptions.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, SynthdbError):
            raise type(cause)(cause.message, cause.hint) from None
        raise ClusterError(
            f"a Ray worker failed: {type(cause).__name__}: {_one_line(cause)}",
            hint="a bug in synthdb; nothing was written",
        ) from None
    except exceptions.RayError as exc:
        raise ClusterError(
            f"lost a Ray worker more than {RETRIES} times ({type(exc).__name__})",
            hint="check the cluster's nodes and memory; nothing was written",
        ) from None


def _one_line(error: BaseException | None) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."
