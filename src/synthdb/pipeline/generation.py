"""Generation, as ``synthdb generate`` does it: rows of a table, sequences of a table of
sequences, or a whole database, written all or nothing to files or a database."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synthdb.errors import ModelFileError, UsageError
from synthdb.pipeline import inputs
from synthdb.pipeline.cluster import check_workers, import_ray
from synthdb.pipeline.events import GenerateOutcome, Listener, SilentListener


@dataclass(frozen=True)
class Cluster:
    """Where rows are drawn when not here: a Ray address, workers, the model file."""

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
    given: str | Path | None = None,
    rebalance: Sequence[str] | Mapping[str, Mapping[str, float]] | None = None,
) -> GenerateOutcome:
    """Generate from the model file ``model_path`` to ``output``: a CSV/TSV (optionally
    compressed) or Parquet file, a database URL, or for a database's model a folder.

    A table's model writes ``rows`` rows (default: as many as it learned) to ``table`` (when
    ``output`` is a database; default: the model's table name). A database's model writes
    every table, the root tables' rows times ``scale`` (default 1). A model of sequences
    writes ``sequences`` whole sequences (default: as many as it learned). The same model and
    ``seed`` give the same output. An existing output is refused unless ``overwrite``.

    ``ray`` draws the rows (a database's tables, sequences) on a Ray cluster: ``"auto"`` for
    the one this machine belongs to, or its address (``"ray://head:10001"``), with
    ``workers`` workers (default: one per CPU of the cluster). The output is the same, byte
    for byte (:mod:`synthdb.pipeline.cluster` says why).

    ``given`` is a CSV or Parquet file of any of the model's columns: one output row per
    given row, its values kept, the rest drawn given them. For a database's model, rows of the
    root table the file is named after (``customers.csv``), whose children are generated under
    them (other root tables at ``scale``). ``rebalance``
    sets the share of categories in the ``rows``: ``{column: {value: share}}`` or the command
    line's ``COLUMN=VALUE:SHARE`` strings (:mod:`synthdb.conditioning`).
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
    conditioned = given is not None or bool(rebalance)
    if conditioned:
        _check_conditioned(kind, given, rebalance, rows, ray)
    if ray is not None:
        import_ray()  # before PyTorch's import, which takes seconds
    if kind == "database":
        factor = inputs.check_scale(scale)
        from synthdb.relational.model import DatabaseModel

        roots = {} if given is None else {Path(given).name.split(".")[0]: _read_given(given)}
        twin = DatabaseModel.load(path)
        schema = twin.fitted_schema()
        inputs.check_database_output(output, schema, overwrite)
        cluster = None if ray is None else Cluster(ray, workers, path.read_bytes())
        synthetic = write_twin(twin, output, factor, seed, overwrite, listener, roots, cluster)
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
        cluster = None if ray is None else Cluster(ray, workers, path.read_bytes())
        location, written, count = write_sequences(
            model, output, sequences, seed, name, overwrite, listener, cluster
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

    given_frame = None if given is None else _read_given(given)
    synthesizer = Synthesizer.load(path)
    count = rows if rows is not None else synthesizer.null_report.rows_before
    name = table or synthesizer.schema.name
    if rebalance:
        listener.on_message(f"rebalancing {count:,} rows")
        given_frame = synthesizer.rebalanced(count, _rebalance(rebalance), seed=seed)
    if given_frame is not None:
        count = len(given_frame)
        location = write_given(synthesizer, output, given_frame, seed, name, overwrite, listener)
        return GenerateOutcome(
            output=location,
            kind="table",
            rows=count,
            tables={name: count},
            sequences=None,
            seconds=time.monotonic() - started,
        )
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


def _check_conditioned(
    kind: object,
    given: str | Path | None,
    rebalance: Sequence[str] | Mapping[str, Mapping[str, float]] | None,
    rows: int | None,
    ray: str | None,
) -> None:
    """What conditioned generation cannot be combined with, said before anything loads."""
    what = "`given`" if given is not None else "`rebalance`"
    if kind == "database" and rebalance:
        raise UsageError(
            "`rebalance` is for a table's model; this one holds a database",
            hint="give the root table's rows with `given` instead",
        )
    if kind in ("database", "sequences") and not (kind == "database" and given is not None):
        raise UsageError(
            f"{what} is for a table's model; this one holds "
            f"{'a database' if kind == 'database' else 'sequences'}",
            hint="train the table on its own to condition on its columns",
        )
    if given is not None and rebalance:
        raise UsageError("give either `given` or `rebalance`, not both")
    if given is not None and rows is not None:
        raise UsageError("`rows` must be left out with `given`: one row is drawn per given row")
    if ray is not None:
        raise UsageError(f"{what} draws here, not on Ray", hint="leave `ray` out")
    if rebalance:
        from synthdb.conditioning import check_shares

        check_shares(_rebalance(rebalance))


def _read_given(location: str | Path) -> pd.DataFrame:
    """The given rows as the training data was read (only empty fields are NULL)."""
    from synthdb.io.sources import read_table

    if not Path(location).exists():
        raise UsageError(f"`given` file {location} does not exist", hint="check the path")
    return read_table(location)


def _rebalance(
    rebalance: Sequence[str] | Mapping[str, Mapping[str, float]],
) -> Mapping[str, Mapping[str, float]]:
    from synthdb.conditioning import parse_rebalance

    if isinstance(rebalance, Mapping):
        return rebalance
    return parse_rebalance(list(rebalance))


def write_given(
    synthesizer: Synthesizer,
    output: str,
    given: pd.DataFrame,
    seed: int,
    table: str,
    overwrite: bool,
    listener: Listener,
) -> str:
    """Write one row per row of ``given``, all or nothing; every given value is checked
    before the output is opened."""
    from synthdb.io._batches import rows_of
    from synthdb.io.sinks import Batch, open_sink

    rows = len(given)
    batches = synthesizer.iter_given(given, seed=seed)  # checks every value first
    sink = open_sink(output, table=table, overwrite=overwrite)
    listener.on_message(f"generating one row per given row ({rows:,}) to {sink.location}")
    done = 0
    listener.on_rows(done, rows, "rows")

    def counted() -> Iterator[Batch]:
        nonlocal done
        for batch in batches:
            yield sink.prepare(batch)
            done += rows_of(batch)
            listener.on_rows(done, rows, "rows")

    sink.write_batches(table, counted())
    listener.on_output(sink.location)
    listener.on_message(f"wrote {rows:,} rows to {sink.location}")
    return sink.location


def impute(
    model_path: str | Path,
    data: str | Path,
    output: str | Path,
    *,
    seed: int = 0,
    table: str | None = None,
    overwrite: bool = False,
    listener: Listener | None = None,
) -> GenerateOutcome:
    """Write ``data`` (a CSV/Parquet file or a database URL with ``table``) to ``output`` with
    each NULL of a modelled column replaced by a draw given the row's other values; the rows
    and every other value are kept (:meth:`synthdb.Synthesizer.impute`)."""
    listener = listener if listener is not None else SilentListener()
    inputs.check_sampling(None, seed, "seed")
    path = Path(model_path)
    started = time.monotonic()
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist", hint="check the path")
    from synthdb.io._locations import is_url
    from synthdb.io.sinks import open_sink
    from synthdb.io.sources import read_table
    from synthdb.modelfile import read_manifest

    kind = read_manifest(path).get("kind")
    if kind in ("database", "sequences"):
        raise UsageError(
            "impute is for a table's model; this one holds "
            f"{'a database' if kind == 'database' else 'sequences'}",
            hint="train the table on its own to impute it",
        )
    output = str(output)
    if not is_url(output) or table is not None:
        inputs.check_output(output, table or "imputed", overwrite)
    frame = read_table(data, table)
    from synthdb.synthesizer import Synthesizer

    synthesizer = Synthesizer.load(path)
    name = table or synthesizer.schema.name
    nulls = int(
        frame[[c for c in synthesizer.schema.names if c in frame.columns]].isna().sum().sum()
    )
    filled = synthesizer.impute(frame, seed=seed)  # checks every value first
    listener.on_message(f"imputed {nulls:,} NULLs in {len(frame):,} rows")
    sink = open_sink(output, table=name, overwrite=overwrite)
    sink.write_batches(name, iter([sink.prepare(filled)]))
    listener.on_output(sink.location)
    listener.on_message(f"wrote {len(filled):,} rows to {sink.location}")
    return GenerateOutcome(
        output=sink.location,
        kind="table",
        rows=len(filled),
        tables={name: len(filled)},
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
    cluster: Cluster | None = None,
) -> tuple[str, int, int]:
    """Write the sequences, all or nothing; return the output's name, the rows written and
    the sequences. With ``cluster``, Ray workers draw them (the same sequences)."""
    from synthdb.io._batches import rows_of
    from synthdb.io.sinks import Batch, open_sink
    from synthdb.relational.sequence_table import CHUNK

    count = model.sequences if sequences is None else sequences
    if count < 1:
        raise UsageError(f"`sequences` must be at least 1 (got {count})")
    sink = open_sink(output, table=table, overwrite=overwrite)
    chunks: Iterator[Batch]
    if cluster is None:
        listener.on_message(f"generating {count:,} sequences to {sink.location}")
        chunks = (sink.prepare(chunk) for chunk in model.iter_sequences(count, seed=seed))
    else:
        from synthdb.pipeline.cluster import draw_shards

        listener.on_message(
            f"generating {count:,} sequences to {sink.location} on Ray ({cluster.address})"
        )
        chunks = draw_shards(
            cluster.model,
            sink,
            count,
            seed,
            address=cluster.address,
            workers=cluster.workers,
            batch_rows=CHUNK,
            kind="sequences",
        )
    written = 0
    drawn = 0
    listener.on_rows(drawn, count, "sequences")

    def counted() -> Iterator[Batch]:
        nonlocal written, drawn
        for chunk in chunks:  # CHUNK sequences each, the last one the rest
            written += rows_of(chunk)
            yield chunk
            drawn = min(count, drawn + CHUNK)
            listener.on_rows(drawn, count, "sequences")

    try:
        sink.write_batches(table, counted())
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops drawing (ends the Ray workers) now, not when collected
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
    given: Mapping[str, pd.DataFrame] | None = None,
    cluster: Cluster | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate the whole database and write it, all or nothing; return what was written.

    ``given`` holds rows of root tables, by table name, that are kept and drawn under
    (:meth:`~synthdb.relational.model.DatabaseModel.generate`). With ``cluster``, Ray
    workers draw the tables' rows (the same database)."""
    from synthdb.io.database import write_database

    schema = model.fitted_schema()
    total = len(schema.order)
    done = 0

    def on_table(name: str, rows: int) -> None:
        nonlocal done
        done += 1
        listener.on_rows(done, total, "tables")

    where = "" if cluster is None else f" on Ray ({cluster.address})"
    listener.on_message(f"generating {total} tables at scale {scale:g}{where}")
    listener.on_rows(done, total, "tables")
    if cluster is None:
        synthetic = model.generate(scale=scale, seed=seed, given=given, on_table=on_table)
    else:
        from synthdb.pipeline.cluster import draw_twin

        synthetic = draw_twin(
            cluster.model,
            model,
            scale=scale,
            seed=seed,
            address=cluster.address,
            workers=cluster.workers,
            on_table=on_table,
        )
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
