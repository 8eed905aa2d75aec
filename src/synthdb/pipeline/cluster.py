"""Generation on a Ray cluster (the ``ray`` extra): ``synthdb generate --ray ADDRESS|auto``.

One process draws a table's rows in batches of ``SAMPLE_BATCH`` rows, batch ``i`` from its
own seeds (``(seed, i)``) and its keys from its first row's index (``Synthesizer._draw``), and
writes them in order. Here a *shard* is a run of whole batches: a worker anywhere draws exactly
the rows one process draws for those batches, packs them for the sink (CSV rows formatted,
Parquet rows as an Arrow table), and this process, the driver, writes the shards in order as
they come, through the same sink. So the output is the single process's, byte for byte,
whatever the number of workers, shards or retries.

Workers are Ray actors, ``workers`` of them (default: the cluster's CPUs), each on one CPU
and one thread. Each gets the model file's bytes from the object store and loads them with the
safe loader (JSON + safetensors), once: no model object is ever pickled. The driver keeps at
most two shards per worker in flight, so its memory is a few shards whatever ``rows`` is. A
worker lost mid-job (its process killed, its node gone) is restarted by Ray and its unfinished
shards are drawn again, up to ``RETRIES`` times; past that the job fails and, as for any
failure, the sink removes what it had written.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from synthdb.errors import ClusterError, SynthdbError, UsageError

if TYPE_CHECKING:
    from synthdb.io._locations import FileFormat
    from synthdb.io.sinks import Packed, Sink
    from synthdb.synthesizer import Synthesizer

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


class Drawer:
    """One Ray worker: draws shards of one job's rows, loading the model at its first shard.

    The model comes as a reference to its file's bytes in the object store, inside a list so
    that Ray hands over the reference, not the bytes, with every shard: a restarted worker
    (which Ray builds again from the constructor's arguments alone) loads it again from there.
    """

    def __init__(self, rows: int, seed: int, packing: FileFormat | None) -> None:
        self._rows = rows
        self._seed = seed
        self._packing = packing
        self._model: Synthesizer | None = None

    def draw(self, model: list[Any], batches: range) -> list[Packed]:
        from synthdb.io.sinks import pack

        frames = self._load(model[0]).iter_samples(
            self._rows, seed=self._seed, workers=1, batches=batches
        )
        return [pack(frame, self._packing) for frame in frames]

    def _load(self, model: Any) -> Synthesizer:
        if self._model is None:
            import ray
            import torch

            from synthdb.synthesizer import Synthesizer

            torch.set_num_threads(1)  # one CPU per worker; Ray reserves it
            with tempfile.TemporaryDirectory(prefix="synthdb-") as folder:
                path = Path(folder) / "model.synthdb"
                path.write_bytes(ray.get(model))
                self._model = Synthesizer.load(path)  # the safe loader: no pickle
        return self._model


#: Tries to reach a cluster through Ray Client, and the pause before the next (times the try).
CLIENT_ATTEMPTS = 3
CLIENT_RETRY_SECONDS = 2.0


def connect(ray: ModuleType, address: str) -> bool:
    """Connect to the cluster at ``address`` (``auto``: the one this machine belongs to,
    ``ray://host:10001``: through Ray Client); True if this call made the connection. A
    process already connected keeps its connection."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"logging_level": logging.WARNING}
    if not address.startswith("ray://"):
        options["log_to_driver"] = False  # workers' output would interleave with ours
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


def draw_shards(
    model: bytes,
    sink: Sink,
    rows: int,
    seed: int,
    *,
    address: str,
    workers: int | None,
    batch_rows: int,
) -> Iterator[Packed]:
    """The job's batches in order, drawn by Ray workers, packed for ``sink``.

    Connects first (and disconnects at the end if it connected); the workers are ended when
    the iterator is closed, finished or not.
    """
    ray = import_ray()
    connected = connect(ray, address)
    actors: list[Any] = []
    try:
        count = worker_count(ray, workers)
        plan = shards(rows, count, batch_rows)
        count = min(count, len(plan))
        stored = ray.put(model)
        remote = ray.remote(
            num_cpus=1,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
            scheduling_strategy="SPREAD",
        )(Drawer)
        job = secrets.token_hex(4)
        actors = [
            remote.options(name=f"{ACTOR_PREFIX}{job}-{i}").remote(rows, seed, sink.packing)
            for i in range(count)
        ]
        pending: deque[tuple[int, Any]] = deque()
        queued = [0] * count
        submitted = 0
        while submitted < len(plan) or pending:
            while submitted < len(plan) and len(pending) < 2 * count:
                actor = min(range(count), key=queued.__getitem__)
                pending.append((actor, actors[actor].draw.remote([stored], plan[submitted])))
                queued[actor] += 1
                submitted += 1
            actor, result = pending.popleft()
            packed: list[Packed] = _get(ray, result)
            queued[actor] -= 1
            yield from packed
    finally:
        for handle in actors:
            with contextlib.suppress(Exception):  # already gone: nothing to end
                ray.kill(handle, no_restart=True)
        if connected:
            ray.shutdown()


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
