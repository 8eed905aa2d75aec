"""Training on a table larger than memory: three passes over its chunks, then training from
tokens on disk.

A table of up to :data:`STREAM_ROWS` rows is read whole and learned in memory, as always
(:meth:`synthdb.synthesizer.Synthesizer.fit`); its results do not depend on this module.
Above that, the 2,000,000 rows x 19 columns of a flights table took 8 GB in memory: the
frame, its typed copy, the copy the NULL policy leaves, the tokens in int64 and their copy
for training. Streamed, memory follows the chunk and the model instead:

1. **schema**: every row is counted, its NULLs too, and a uniform sample of
   :data:`~synthdb.encoding.streamed.SKETCH_ROWS` rows is kept; the kinds are inferred from
   the sample (a column's kind shows in 200,000 rows), the counts are exact;
2. **statistics**: each typed chunk adds to exact counts, sums and ranges
   (:class:`~synthdb.encoding.streamed.StreamedStatistics`); the quantiles come from the sample;
3. **encoding**: each chunk is encoded once into a :class:`~synthdb.training.store.TokenStore`
   on disk, except :data:`VALIDATION_ROWS` rows drawn at random for early stopping, kept in
   memory.

Training then reads shuffled windows of the store (:class:`~synthdb.training.store.
StoredBatches`), and the store's folder is removed when training ends, however it ends.

``sample_rows`` (train on a uniform sample) chooses the row numbers up front from the row
count, and every pass keeps the same rows, so a sample needs no more memory than the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from synthdb.config import TrainingConfig
from synthdb.encoding.base import ColumnStatistics
from synthdb.encoding.nulls import NullReport, drop_null_rows, replace_nulls
from synthdb.encoding.streamed import SKETCH_ROWS, RowSample, StreamedStatistics
from synthdb.encoding.table import TableEncoder
from synthdb.errors import InputError, UsageError
from synthdb.evaluation.accuracy import AccuracyReference, ColumnKind
from synthdb.evaluation.columns import accuracy_kinds
from synthdb.io.sources import Source
from synthdb.schema.inference import infer_schema
from synthdb.schema.relations import SqlType
from synthdb.schema.table import TableSchema
from synthdb.schema.values import to_typed
from synthdb.training.store import TokenStore

#: Above this many rows (after ``sample_rows``) a table is streamed. In memory 2,000,000
#: flights rows took 8 GB; 1,000,000 rows of 19 columns take about 4 GB, still under the
#: 2-core, 8 GB machines we measure on, and every table of the benchmarks (Adult's 48,842
#: rows, Berka's 1 million transactions) keeps its in-memory results.
STREAM_ROWS = 1_000_000
#: Rows read per chunk: 100,000 rows of 19 columns are about 50 MB as a frame.
CHUNK_ROWS = 100_000
#: Held-out rows of a streamed table scored after each epoch (at most; the in-memory route
#: holds out ``validation_share``). The accuracy probe draws at most 20,000 rows anyway
#: (``VALIDATION_SAMPLE``), and the validation loss over 20,000 rows is exact to 1%; the rest
#: of the table trains.
VALIDATION_ROWS = 20_000

#: Told how far a pass is: (what it does, rows done, rows in all).
Progress = Callable[[str, int, int], None]


def source_rows(source: Source, table: str | None) -> int | None:
    """The source's row count where it is worth knowing (Parquet metadata, a database's
    ``COUNT(*)``, a pass over a CSV file of 16 MB or more); None otherwise (a smaller CSV file,
    which is then read into memory as before)."""
    count = getattr(source, "count_rows", None)
    return count(table) if callable(count) else None


def sample_positions(total: int, sample_rows: int | None, seed: int) -> np.ndarray | None:
    """The row numbers of a uniform sample of ``sample_rows`` rows, sorted (None: every row).

    Drawn without replacement from the row count, seeded, so the same data and seed give the
    same sample on both routes."""
    if sample_rows is None or sample_rows >= total:
        return None
    rng = np.random.default_rng([seed, 16])
    return np.sort(rng.choice(total, size=sample_rows, replace=False))


@dataclass
class StreamedTable:
    """What the passes learned: the schema, encoders, NULL report, held-out rows, and the
    training rows' tokens on disk (the caller closes ``store``)."""

    schema: TableSchema
    encoder: TableEncoder
    nulls: NullReport
    #: a uniform sample of the source's rows, as read (rules are found in it, reports read it)
    sample: pd.DataFrame
    #: the same rows typed, after the NULL policy
    typed_sample: pd.DataFrame
    val_tokens: np.ndarray
    val_frame: pd.DataFrame
    kinds: dict[str, ColumnKind]
    store: TokenStore


class _Chunks:
    """The source's chunks, less the rows ``positions`` leaves out, and progress."""

    def __init__(
        self,
        source: Source,
        table: str | None,
        total: int,
        positions: np.ndarray | None,
        progress: Progress | None,
    ) -> None:
        self.source, self.table, self.total = source, table, total
        self.positions, self.progress = positions, progress

    def read(self, stage: str) -> Iterator[pd.DataFrame]:
        start = 0
        if self.progress is not None:
            self.progress(stage, 0, self.total)
        for chunk in self.source.read_chunks(self.table, rows=CHUNK_ROWS):
            count = len(chunk)
            if self.positions is not None:
                low, high = np.searchsorted(self.positions, [start, start + count])
                chunk = chunk.iloc[self.positions[low:high] - start]
            start += count
            if self.progress is not None:
                self.progress(stage, min(start, self.total), self.total)
            yield chunk.reset_index(drop=True)


def stream_table(
    source: Source,
    table: str | None,
    name: str,
    config: TrainingConfig,
    *,
    total: int,
    types: dict[str, SqlType] | None = None,
    progress: Progress | None = None,
) -> StreamedTable:
    """The three passes over a table of ``total`` rows (see the module's docstring)."""
    if config.privacy is not None:
        raise UsageError(
            f"differential privacy reads the table in memory, and it has {total:,} rows",
            hint="add `sample_rows` (at most 1,000,000) to train on a uniform sample",
        )
    positions = sample_positions(total, config.sample_rows, config.seed)
    chunks = _Chunks(source, table, total, positions, progress)

    # 1. schema: kinds from a uniform sample, counts exact
    sample = RowSample(SKETCH_ROWS, np.random.default_rng([config.seed, 1]))
    nulls: pd.Series | None = None
    for chunk in chunks.read("reading"):
        sample.add(chunk)
        counted = chunk.isna().sum()
        nulls = counted if nulls is None else nulls.add(counted, fill_value=0)
    raw = sample.rows()
    if sample.seen == 0:
        raise InputError("the table has no rows", hint="synthdb needs at least one row")
    schema = infer_schema(raw, name, config.columns, types=types)
    schema.rows = sample.seen
    for column in schema.columns:
        column.null_count = int(nulls[column.name]) if nulls is not None else 0
        column.nullable = column.null_count > 0

    # 2. statistics, exact where cheap, then the NULL policy and the encoders
    statistics = StreamedStatistics(schema, config.nulls)
    for chunk in chunks.read("statistics"):
        statistics.add(to_typed(chunk, schema))
    report, averages = statistics.report()
    typed_sample = _prepared(to_typed(raw, schema), config, averages)
    encoder = statistics.encoder(typed_sample)

    # 3. encoding: tokens on disk, a random few rows held out
    kept = statistics.rows
    held = min(round(kept * config.validation_share), VALIDATION_ROWS)
    held_out = np.sort(np.random.default_rng(config.seed).choice(kept, size=held, replace=False))
    kinds = {c: k for c, k in accuracy_kinds(schema).items() if c in encoder.columns}
    cardinalities = [s.cardinality for s in encoder.sub_columns]
    store = TokenStore(kept - held, cardinalities)
    try:
        val_tokens, val_frames = [], []
        start = 0
        for chunk in chunks.read("encoding"):
            typed = _prepared(to_typed(chunk, schema), config, averages)
            tokens = encoder.encode(typed)
            low, high = np.searchsorted(held_out, [start, start + len(typed)])
            mask = np.zeros(len(typed), dtype=bool)
            mask[held_out[low:high] - start] = True
            start += len(typed)
            val_tokens.append(tokens[mask])
            val_frames.append(typed.loc[mask, list(kinds)])
            store.append(tokens[~mask].astype(store.dtype))
        store.finish()
    except BaseException:
        store.close()
        raise
    return StreamedTable(
        schema=schema,
        encoder=encoder,
        nulls=report,
        sample=raw,
        typed_sample=typed_sample,
        val_tokens=np.concatenate(val_tokens)
        if val_tokens
        else np.zeros((0, len(cardinalities)), dtype=np.int64),
        val_frame=pd.concat(val_frames, ignore_index=True)
        if val_frames
        else pd.DataFrame(columns=list(kinds)),
        kinds=kinds,
        store=store,
    )


def _prepared(
    typed: pd.DataFrame, config: TrainingConfig, averages: dict[str, ColumnStatistics]
) -> pd.DataFrame:
    """A typed chunk after the NULL policy, with the whole table's averages."""
    if config.nulls == "drop":
        return drop_null_rows(typed, explain=False)
    if config.nulls == "replace":
        scratch = NullReport("replace", len(typed), len(typed))
        return replace_nulls(typed, averages, scratch)
    return typed


def validator(
    config: TrainingConfig,
    encoder: TableEncoder,
    val_frame: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    probe_rows: int,
) -> Callable[[torch.nn.Module], float]:
    """The accuracy of ``probe_rows`` drawn rows against the held-out rows (as the in-memory
    route scores an epoch)."""
    reference = AccuracyReference.fit(val_frame, kinds)

    def validate(model: torch.nn.Module) -> float:
        generator = torch.Generator().manual_seed(config.seed + 1)
        sampled = model.sample(probe_rows, generator, None)  # type: ignore[operator]
        decoded = encoder.decode(sampled.numpy(), np.random.default_rng(config.seed + 1))
        return float(reference.score(decoded[list(kinds)]).overall)

    return validate
