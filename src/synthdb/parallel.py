"""Compute independent batches on worker threads and hand them over in order.

Why threads: sampling a batch is PyTorch kernels and writing one is Arrow kernels, and both
release the GIL. Workers that each run PyTorch on ONE intra-op thread, sampling different
batches, waste nothing on synchronisation (a batch of 65,536 rows is made of small kernels
that parallelise poorly), and the consumer formats and writes batch i while batch i+1 is being
drawn. Results come back in submission order, so output does not depend on scheduling; an
exception reaches the consumer at the item that raised it, and stopping early (an error while
writing, Ctrl-C, or not reading to the end) cancels what has not started.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _one_torch_thread() -> None:
    # per-thread under PyTorch's OpenMP backend: the caller's setting is left alone
    torch.set_num_threads(1)


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], *, workers: int, ahead: int | None = None
) -> Iterator[R]:
    """Yield ``function(item)`` for each item, in order, computed by ``workers`` threads.

    At most ``ahead`` results (default ``workers + 1``) are computed or waiting at a time, which
    bounds memory. With ``workers == 1`` everything runs in the caller's thread.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    if workers == 1:
        yield from map(function, items)
        return
    window = max(ahead or workers + 1, 1)
    source = iter(items)
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(
        workers, thread_name_prefix="synthdb-worker", initializer=_one_torch_thread
    ) as pool:
        try:
            for item in source:
                pending.append(pool.submit(function, item))
                if len(pending) >= window:
                    break
            while pending:
                result = pending.popleft().result()
                for item in source:
                    pending.append(pool.submit(function, item))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()
