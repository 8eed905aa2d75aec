"""Generation, as ``synthdb generate`` does it: rows of a table, sequences of a table of
sequences, or a whole database, written all or nothing to files or a database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synthdb.errors import ModelFileError, UsageError
from synthdb.pipeline import inputs
from synthdb.pipeline.cluster import check_workers, import_ray
from synthdb.pipeline.events import GenerateOutcome, Listener, SilentListener


@dataclass(frozen=True)
class Cluster:
    """Where a table's rows are drawn when not here: a Ray address, workers, the model file."""

    address: str
    workers: int | None
    model: bytes = field(repr=False)


if TYPE_CHECKING:
    import pandas as pd

    from synthdb.relational.model import DatabaseModel
    from synthdb.relational.sequence_table import SequenceModel
    from synthdb.synthesizer import Synthesizer


def generate(
    model_path: str | Path,
    output: str | Path,
    *,
    rows: int | None = None,
    scale: float | None = None,
    sequences: int | None = None,
    seed: int = 0,
    table: str | None = None,
    overwrite: bool = False,
    listener: Listener | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> GenerateOutcome:
    """Generate from the model file ``model_path`` to ``output``: a CSV/TSV (optionally
    compressed) or Parquet file, a database URL, or for a database's model a folder.

    A table's model writes ``rows`` rows (default: as many as it learned) to ``table`` (when
    ``output`` is a database; default: the model's table name). A database's model writes
    every table, the root tables' rows times ``scale`` (default 1). A model of sequences
    writes ``sequences`` whole sequences (default: as many as it learned). The same model and
    ``seed`` give the same output. An existing output is refused unless ``overwrite``.

    ``ray`` (a table's model only) draws the rows on a Ray cluster: ``"auto"`` for the one
    this machine belongs to, or its address (``"ray://head:10001"``), with ``workers`` workers
    (default: one per CPU of the cluster). The output is the same, byte for byte
    (:mod:`synthdb.pipeline.cluster` says why).
    """
    listener = listener if listener is not None else SilentListener()
    output = str(output)
    inputs.check_sampling(rows, seed, "seed")
    check_workers(ray, workers)
    if ray is not None and not ray.strip():
        raise UsageError("`ray` must be auto or the cluster's address (got nothing)")
    path = Path(model_path)
    started = time.monotonic()
    # Cheap checks first: loading a model means importing PyTorch, which takes seconds.
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist", hint="check the path")
    from synthdb.modelfile import read_manifest

    kind = read_manifest(path).get("kind")
    inputs.check_generation(kind, rows=rows, scale=scale, sequences=sequences, table=table)
    if ray is not None and kind in ("database", "sequences"):
        held = "a database" if kind == "database" else "sequences"
        raise UsageError(
            f"`ray` generation is for a table's model; this one holds {held}",
            hint="leave `ray` out",
        )
    if ray is not None:
        import_ray()  # before PyTorch's import, which takes seconds
    if kind == "database":
        factor = inputs.check_scale(scale)
        from synthdb.relational.model import DatabaseModel

        twin = DatabaseModel.load(path)
        schema = twin.fitted_schema()
        inputs.check_database_output(output, schema, overwrite)
        synthetic = write_twin(twin, output, factor, seed, overwrite, listener)
        counts = {name: len(synthetic[name]) for name in schema.order}
        return GenerateOutcome(
            output=inputs.display(output),
            kind="database",
            rows=sum(counts.values()),
            tables=counts,
            sequences=None,
            seconds=time.monotonic() - started,
        )
    if kind == "sequences":
        from synthdb.io._locations import is_url
        from synthdb.relational.sequence_table import SequenceModel

        if not is_url(output) or table is not None:
            inputs.check_output(output, table or "synthetic", overwrite)
        model = SequenceModel.load(path)
        name = table or model.table
        location, written, count = write_sequences(
            model, output, sequences, seed, name, overwrite, listener
        )
        return GenerateOutcome(
            output=location,
            kind="sequences",
            rows=written,
            tables={name: written},
            sequences=count,
            seconds=time.monotonic() - started,
        )
    from synthdb.io._locations import is_url

    if not is_url(output) or table is not None:
        inputs.check_output(output, table or "synthetic", overwrite)
    from synthdb.synthesizer import Synthesizer

    synthesizer = Synthesizer.load(path)
    count = rows if rows is not None else synthesizer.null_report.rows_before
    name = table or synthesizer.schema.name
    cluster = None if ray is None else Cluster(ray, workers, path.read_bytes())
    location = write_rows(synthesizer, output, count, seed, name, overwrite, listener, cluster)
    return GenerateOutcome(
        output=location,
        kind="table",
        rows=count,
        tables={name: count},
        sequences=None,
        seconds=time.monotonic() - started,
    )


def write_rows(
    synthesizer: Synthesizer,
    output: str,
    rows: int,
    seed: int,
    table: str,
    overwrite: bool,
    listener: Listener,
    cluster: Cluster | None = None,
) -> str:
    """Write ``rows`` synthetic rows, all or nothing; return the output's name for messages.

    With ``cluster``, Ray workers draw them (the same rows)."""
    from synthdb.io._batches import rows_of
    from synthdb.io.sinks import Batch, open_sink
    from synthdb.synthesizer import SAMPLE_BATCH

    sink = open_sink(output, table=table, overwrite=overwrite)
    batches: Iterator[Batch]
    if cluster is None:
        listener.on_message(f"generating {rows:,} rows to {sink.location}")
        batches = synthesizer.iter_samples(rows, seed=seed, finish=sink.prepare)
    else:
        from synthdb.pipeline.cluster import draw_shards

        listener.on_message(
            f"generating {rows:,} rows to {sink.location} on Ray ({cluster.address})"
        )
        batches = draw_shards(
            cluster.model,
            sink,
            rows,
            seed,
            address=cluster.address,
            workers=cluster.workers,
            batch_rows=SAMPLE_BATCH,
        )
    done = 0
    listener.on_rows(done, rows, "rows")

    def counted() -> Iterator[Batch]:
        nonlocal done
        for batch in batches:
            yield batch
            done += rows_of(batch)
            listener.on_rows(done, rows, "rows")

    try:
        sink.write_batches(table, counted())
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stops drawing (ends the Ray workers) now, not when collected
    listener.on_output(sink.location)
    listener.on_message(f"wrote {rows:,} rows to {sink.location}")
    return sink.location


def write_sequences(
    model: SequenceModel,
    output: str,
    sequences: int | None,
    seed: int,
    table: str,
    overwrite: bool,
    listener: Listener,
) -> tuple[str, int, int]:
    """Write the sequences, all or nothing; return the output's name, the rows written and
    the sequences."""
    from synthdb.io.sinks import open_sink

    count = model.sequences if sequences is None else sequences
    if count < 1:
        raise UsageError(f"`sequences` must be at least 1 (got {count})")
    sink = open_sink(output, table=table, overwrite=overwrite)
    listener.on_message(f"generating {count:,} sequences to {sink.location}")
    chunks = model.iter_sequences(count, seed=seed)
    written = 0
    drawn = 0
    listener.on_rows(drawn, count, "sequences")

    def counted() -> Iterator[pd.DataFrame]:
        nonlocal written, drawn
        for chunk in chunks:
            written += len(chunk)
            yield sink.prepare(chunk)
            drawn += int(chunk[model.sequence_key].nunique())
            listener.on_rows(drawn, count, "sequences")

    sink.write_batches(table, counted())
    listener.on_output(sink.location)
    listener.on_message(f"wrote {count:,} sequences, {written:,} rows, to {sink.location}")
    return sink.location, written, count


def write_twin(
    model: DatabaseModel,
    output: str,
    scale: float,
    seed: int,
    overwrite: bool,
    listener: Listener,
) -> dict[str, pd.DataFrame]:
    """Generate the whole database and write it, all or nothing; return what was written."""
    from synthdb.io.database import write_database

    schema = model.fitted_schema()
    listener.on_message(f"generating {len(schema.tables)} tables at scale {scale:g}")
    synthetic = model.generate(scale=scale, seed=seed)
    write_database(
        output,
        schema,
        synthetic,
        overwrite=overwrite,
        warn=lambda text: listener.on_message(f"warning: {text}"),
    )
    listener.on_output(output)
    listener.on_message(f"wrote {len(synthetic)} tables to {inputs.display(output)}")
    return synthetic
