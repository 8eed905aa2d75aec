"""Encoded rows on disk: written once, read back through memory maps in shuffled windows.

A table larger than memory is encoded chunk by chunk into a :class:`TokenStore`: a file of
rows, read back as numpy memmaps, in a temporary folder (removed when the store is closed),
in the narrowest unsigned integer type that holds every sub-column's tokens (two bytes a
token where the widest sub-column has at most 65,536 values, against eight in memory).
:class:`StoredBatches` then takes training steps from it as
:class:`~synthdb.training.loop.ShuffledBatches` does from an array in memory.

Shuffling: each epoch draws the store's blocks of :data:`BLOCK_ROWS` rows in a random order,
copies :data:`WINDOW_BLOCKS` of them at a time into memory, shuffles those rows and takes its
batches from them. A batch then mixes rows from 64 places of the table (a table sorted by
date still gives batches across its whole span), reads are long and sequential, and memory
holds one window, not the table. Each window maps the file anew and drops the mapping, so
the pages it read are not counted against the process once used.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import torch

from synthdb.model.network import AutoregressiveNet
from synthdb.training.loop import MIN_STEPS_PER_EPOCH, adamw

#: Rows of one block, the unit of the shuffle's reads (4,096 rows of 30 two-byte tokens:
#: 240 KB read in one go).
BLOCK_ROWS = 4_096
#: Blocks copied into memory at a time: 262,144 rows, about 16 MB of two-byte tokens.
WINDOW_BLOCKS = 64


def token_dtype(cardinalities: Sequence[int]) -> np.dtype[np.unsignedinteger]:
    """The narrowest unsigned type that holds every token."""
    widest = max(cardinalities, default=1)
    for candidate in (np.uint8, np.uint16, np.uint32):
        if widest - 1 <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.uint64)


class TokenStore:
    """``rows`` x ``width`` tokens in a memory-mapped file of a temporary folder.

    Write with :meth:`append` (rows in order, exactly ``rows`` in all), read with
    :meth:`read`; :meth:`close` (or leaving the ``with`` block) removes the folder.
    """

    def __init__(
        self, rows: int, cardinalities: Sequence[int], directory: str | Path | None = None
    ) -> None:
        self.rows = rows
        self.width = len(cardinalities)
        self.dtype = token_dtype(cardinalities)
        self.folder = Path(tempfile.mkdtemp(prefix="synthdb-tokens-", dir=directory))
        self.path = self.folder / "tokens.bin"
        self.written = 0
        # Written through a file, not a writable map: the pages of a map stay in the
        # process's RSS until it is dropped, and the encoding pass would grow by the file.
        self._writer: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115
        self.counts = [np.zeros(c, dtype=np.int64) for c in cardinalities]

    def append(self, tokens: np.ndarray) -> None:
        """Write the next rows; their token counts are added up for the heads' start."""
        end = self.written + len(tokens)
        if end > self.rows or tokens.shape[1:] != (self.width,):
            raise ValueError(f"{tokens.shape} tokens after {self.written} of {self.rows} rows")
        if self._writer is not None and len(tokens) and self.width:
            self._writer.write(np.ascontiguousarray(tokens, dtype=self.dtype).tobytes())
            for j, counts in enumerate(self.counts):
                counts += np.bincount(tokens[:, j], minlength=counts.size)[: counts.size]
        self.written = end

    def finish(self) -> None:
        """Flush the written rows to disk and drop the writing map."""
        if self.written != self.rows:
            raise ValueError(f"{self.written} rows written of {self.rows}")
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` as a fresh array; the file's map is dropped again."""
        stop = min(stop, self.rows)
        if stop <= start or not self.width:
            return np.zeros((max(stop - start, 0), self.width), dtype=self.dtype)
        itemsize = self.dtype.itemsize * self.width
        view = np.memmap(
            self.path, self.dtype, "r", offset=start * itemsize, shape=(stop - start, self.width)
        )
        out = np.array(view)
        del view
        return out

    def mapped(self) -> np.ndarray:
        """Every row, as a read-only view of the file's map (nothing copied to the heap): what
        ``ray.put`` copies into the object store for training on Ray."""
        if not self.rows or not self.width:
            return np.zeros((self.rows, self.width), dtype=self.dtype)
        return np.asarray(np.memmap(self.path, self.dtype, "r", shape=(self.rows, self.width)))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ArrayTokens:
    """Rows already in memory (a Ray worker's, from the object store) behind
    :class:`TokenStore`'s reading interface, so that :class:`StoredBatches` draws from them
    exactly what it draws from the store they came from."""

    def __init__(self, tokens: np.ndarray, counts: Sequence[np.ndarray]) -> None:
        self.tokens = tokens
        self.rows, self.width = tokens.shape
        self.counts = list(counts)

    def read(self, start: int, stop: int) -> np.ndarray:
        return np.array(self.tokens[start:stop])


class StoredBatches:
    """Steps over shuffled windows of a :class:`TokenStore`, otherwise as
    :class:`~synthdb.training.loop.ShuffledBatches`: AdamW, the learning rate halved when the
    validation loss stalls, the heads started at the stored rows' token counts."""

    def __init__(
        self, store: TokenStore | ArrayTokens, batch_size: int, learning_rate: float, seed: int
    ) -> None:
        self.store = store
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.rows = store.rows
        self.batch_size = max(1, min(batch_size, self.rows))
        self.steps_per_epoch = max(MIN_STEPS_PER_EPOCH, self.rows // self.batch_size)
        self.learning_rate = learning_rate
        self._window = torch.empty((0, store.width), dtype=torch.int64)
        self._next = 0
        self._blocks = np.empty(0, dtype=np.int64)

    def start(self, net: AutoregressiveNet) -> None:
        with torch.no_grad():
            for j, counts in enumerate(self.store.counts):
                head = net.heads[net.shape.context + j]
                total = torch.from_numpy(counts).double()
                bias = torch.log((total + 0.5) / (total.sum() + 0.5 * total.numel()))
                head.bias.copy_(bias.float())  # type: ignore[operator]
        self.optimizer = adamw(net, self.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=0.5, patience=2, min_lr=0.1 * self.learning_rate
        )

    def start_epoch(self) -> None:
        self._blocks = np.empty(0, dtype=np.int64)
        self._window = torch.empty((0, self.store.width), dtype=torch.int64)
        self._next = 0

    def next_batch(self) -> torch.Tensor:
        """The next batch of the epoch, its rows as int64 tokens."""
        if self._next + self.batch_size > len(self._window):
            rest = self._window[self._next :]
            if not len(self._blocks):
                blocks = -(-self.rows // BLOCK_ROWS)
                self._blocks = self.rng.permutation(blocks)
            picked, self._blocks = self._blocks[:WINDOW_BLOCKS], self._blocks[WINDOW_BLOCKS:]
            parts = [self.store.read(b * BLOCK_ROWS, (b + 1) * BLOCK_ROWS) for b in picked]
            fresh = torch.from_numpy(np.concatenate(parts).astype(np.int64))
            window = torch.cat([rest, fresh])
            self._window = window[torch.randperm(len(window), generator=self.generator)]
            self._next = 0
        batch = self._window[self._next : self._next + self.batch_size]
        self._next += self.batch_size
        return batch

    def step(self, net: AutoregressiveNet) -> float:
        loss = net.loss(self.next_batch())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return float(loss.item())

    def end_epoch(self, val_loss: float | None) -> None:
        if val_loss is not None:
            self.scheduler.step(val_loss)
