"""Training, as ``synthdb train`` does it: one table, one table of sequences, or a database,
learned and saved to one model file (written under a temporary name and renamed when whole,
so a failure or Ctrl-C leaves nothing half-written)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthdb.errors import UsageError
from synthdb.pipeline import inputs
from synthdb.pipeline.cluster import check_workers, import_ray
from synthdb.pipeline.events import Listener, Relay, SilentListener, TrainOutcome

if TYPE_CHECKING:
    import pandas as pd

    from synthdb.config import TrainingConfig
    from synthdb.io.database import DatabaseSource
    from synthdb.relational.model import DatabaseModel
    from synthdb.relational.sequence_table import SequenceModel
    from synthdb.schema.relations import DatabaseSchema
    from synthdb.synthesizer import Synthesizer
    from synthdb.training.loop import Runner


def train(
    source: str | Path,
    model_path: str | Path,
    config: TrainingConfig | None = None,
    *,
    table: str | None = None,
    tables: str | Sequence[str] | None = None,
    job: inputs.Job | None = None,
    sequence_key: str | None = None,
    order_by: str | Sequence[str] | None = None,
    encoding: str = "utf-8",
    overwrite: bool = False,
    listener: Listener | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> TrainOutcome:
    """Train a model on ``source`` and save it to ``model_path``.

    ``source`` is a table (CSV/TSV, Parquet, a database URL with ``table``), or a database:
    a URL with several tables (or ``tables``: names, or ``"a,b"``), a folder of CSV/Parquet
    files, or a job file with a ``tables`` section; ``job`` adds such a file's per-table
    settings (``job`` is a job file, or its settings as a mapping: ``{"tables": {...}}``).
    With ``sequence_key`` (or the job's), the table's rows are sequences, one per key value,
    sorted by ``order_by`` (else the source's row order).

    ``config`` is the training parameters (default: :class:`~synthdb.config.TrainingConfig`'s
    defaults; :func:`synthdb.pipeline.training_config` reads job files). The output is checked
    before training starts; an existing file is refused unless ``overwrite``. Raises
    :class:`~synthdb.errors.SynthdbError` subclasses with one-line messages.

    ``ray`` (a table's model without DP) runs the training loop data-parallel on a Ray
    cluster: ``"auto"`` for the one this machine belongs to, or its address, with ``workers``
    workers (default: one per CPU of the cluster); the rest, and the file, stay here
    (:mod:`synthdb.pipeline.cluster_training`).
    """
    from synthdb.config import TrainingConfig

    source = str(source)
    config = config if config is not None else TrainingConfig()
    listener = listener if listener is not None else SilentListener()
    path = Path(model_path)
    started = time.monotonic()
    _check_ray(ray, workers, config)
    if inputs.is_database_input(source, table, tables):
        _refuse_ray(ray, "a database")
        inputs.refuse_sequences_for_database(sequence_key, order_by, None)
        database, schema, settings = inputs.open_database_input(source, tables, job, encoding)
        inputs.check_output(path, None, overwrite)
        twin, frames = fit_database(database, schema, config, settings, listener)
        twin.save(path, overwrite=overwrite)
        listener.on_output(str(path))
        listener.on_message(f"saved model of {len(schema.tables)} tables to {path}")
        return TrainOutcome(
            model_path=path,
            kind="database",
            rows=sum(len(f) for f in frames.values()),
            tables=len(schema.tables),
            stop_reason=None,
            seconds=time.monotonic() - started,
        )
    inputs.single_table_job(job, listener)
    sequenced = inputs.sequencing(job, sequence_key, order_by)
    if sequenced is not None:
        _refuse_ray(ray, "sequences")
    runner = _ray_runner(ray, workers)
    shown, name = inputs.open_table_input(source, table, encoding)
    inputs.check_output(path, None, overwrite)
    if sequenced is not None:
        model, frame = fit_sequences(
            source, shown, table, name, encoding, config, sequenced, listener
        )
        model.save(path, overwrite=overwrite)
        listener.on_output(str(path))
        listener.on_message(f"saved model of {model.sequences:,} sequences to {path}")
        return TrainOutcome(
            model_path=path,
            kind="sequences",
            rows=len(frame),
            tables=2,
            stop_reason=None,
            seconds=time.monotonic() - started,
        )
    synthesizer, frame = fit_table(
        source, shown, table, name, encoding, config, listener, runner=runner
    )
    synthesizer.save(path, overwrite=overwrite)
    listener.on_output(str(path))
    listener.on_message(f"saved model to {path}")
    return TrainOutcome(
        model_path=path,
        kind="table",
        rows=synthesizer.null_report.rows_before,
        tables=1,
        stop_reason=synthesizer.training.stop_reason,
        seconds=time.monotonic() - started,
    )


def fit_table(
    source: str,
    shown: str,
    table: str | None,
    name: str,
    encoding: str,
    config: TrainingConfig,
    listener: Listener,
    *,
    runner: Runner | None = None,
) -> tuple[Synthesizer, pd.DataFrame]:
    """Read one table and learn it; return the model and the rows read (of a table too large
    for memory, which is streamed: a uniform sample of them). ``runner`` runs the training
    loop elsewhere (:meth:`Synthesizer.fit`)."""
    from synthdb.io.sources import open_source, read_table
    from synthdb.streaming import STREAM_ROWS, source_rows
    from synthdb.synthesizer import Synthesizer

    total = source_rows(open_source(source, table=table, encoding=encoding), table)
    if total is not None and min(total, config.sample_rows or total) > STREAM_ROWS:
        return fit_streamed(source, shown, table, total, config, listener, runner=runner)
    frame = read_table(source, table, encoding=encoding)
    # Said once the data is ready to learn, so that a problem found while preparing it (say, a
    # NULL policy that drops every row) is the only line said.
    header = (
        f"training on {shown}: {len(frame):,} rows x {frame.shape[1]} columns, purpose "
        f"{config.purpose}, max {config.max_epochs} epochs, nulls {config.nulls}"
    )
    warning = _small_table_warning(frame, name, config) if config.privacy else None
    listener.on_training("training")
    relay = Relay(listener, header, [f"warning: {warning}"] if warning else [])
    synthesizer = Synthesizer(config).fit(frame, table=name, listener=relay, runner=runner)
    if not relay.started:  # nothing to learn (one row, constants): no epoch ran
        listener.on_message(header)
    for line in null_lines(synthesizer.null_report.to_dict()):
        listener.on_message(line)
    return synthesizer, frame


def _check_ray(ray: str | None, workers: int | None, config: TrainingConfig) -> None:
    """Bad usage of ``ray`` and ``workers``, refused before any slow step."""
    check_workers(ray, workers)
    if ray is None:
        return
    if not ray.strip():
        raise UsageError("`ray` must be auto or the cluster's address (got nothing)")
    if config.privacy is not None:
        raise UsageError(
            "`ray` training is not available under differential privacy yet",
            hint="train without `ray` (DP-SGD runs here)",
        )
    import_ray()  # before PyTorch's import, which takes seconds


def _refuse_ray(ray: str | None, what: str) -> None:
    if ray is not None:
        raise UsageError(
            f"`ray` trains a table's model, not yet {what}", hint="train here: leave `ray` out"
        )


def _ray_runner(ray: str | None, workers: int | None) -> Runner | None:
    """Where the training loop runs when not here (None: here)."""
    if ray is None:
        return None
    from synthdb.pipeline.cluster_training import RayRunner

    return RayRunner(ray, workers)


def _small_table_warning(frame: pd.DataFrame, name: str, config: TrainingConfig) -> str | None:
    """Before training under DP, whether the table's rows times epsilon are too few for its
    modelled columns (the database path says the same per table, from released counts; here
    the operator's own table, whose row count the header prints anyway)."""
    from synthdb.encoding.table import MODELLED_KINDS
    from synthdb.privacy.database import small_table_warning
    from synthdb.schema.inference import infer_schema

    assert config.privacy is not None
    schema = infer_schema(frame, name, config.columns)
    columns = sum(1 for c in schema.columns if c.kind in MODELLED_KINDS)
    return small_table_warning(name, float(len(frame)), config.privacy.epsilon, columns)


def fit_streamed(
    source: str,
    shown: str,
    table: str | None,
    total: int,
    config: TrainingConfig,
    listener: Listener,
    *,
    runner: Runner | None = None,
) -> tuple[Synthesizer, pd.DataFrame]:
    """Learn a table too large for memory in passes over its chunks (:mod:`synthdb.streaming`),
    each pass reported as rows read; return the model and a uniform sample of the rows.
    ``runner`` runs the training loop elsewhere, as :func:`fit_table`'s."""
    from synthdb.synthesizer import Synthesizer

    sampled = f", a uniform sample of {config.sample_rows:,}" if config.sample_rows else ""
    listener.on_message(
        f"streaming {shown}: {total:,} rows{sampled}, read in chunks and encoded to disk"
    )

    def progress(stage: str, done: int, rows: int) -> None:
        if done == 0:
            listener.on_message(f"{stage} pass over {rows:,} rows")
        listener.on_rows(done, rows, "rows read")

    header = (
        f"training on {shown}: purpose {config.purpose}, max {config.max_epochs} epochs, "
        f"nulls {config.nulls}"
    )
    listener.on_training("training")
    relay = Relay(listener, header)
    synthesizer = Synthesizer(config).fit(
        source, table=table, listener=relay, progress=progress, stream_above=0, runner=runner
    )
    if not relay.started:
        listener.on_message(header)
    for line in null_lines(synthesizer.null_report.to_dict()):
        listener.on_message(line)
    sample = synthesizer.training_sample
    return synthesizer, sample if sample is not None else synthesizer.sample(1).iloc[:0]


def fit_sequences(
    source: str,
    shown: str,
    table: str | None,
    name: str,
    encoding: str,
    config: TrainingConfig,
    sequenced: tuple[str, list[str]],
    listener: Listener,
) -> tuple[SequenceModel, pd.DataFrame]:
    """Read one table and learn its rows as sequences by ``sequenced``'s key and order."""
    from synthdb.io.sources import read_table
    from synthdb.relational.sequence_table import SequenceModel, check_sequence_input

    frame = read_table(source, table, encoding=encoding)
    key, order = sequenced
    check_sequence_input(frame, key, order, config)  # before the header: one line if wrong
    model = SequenceModel(config, sequence_key=key, order_by=order)

    def listener_for(part: str, rows: int) -> Relay:
        what = "sequences" if part != name else "events"
        listener.on_training(what)
        return Relay(listener, f"{what}: {rows:,} rows")

    ordered = f", ordered by {', '.join(order)}" if order else ", in the rows' order"
    listener.on_message(
        f"training on {shown}: {len(frame):,} rows x {frame.shape[1]} columns as sequences by "
        f"{key}{ordered}; purpose {config.purpose}, max {config.max_epochs} epochs, nulls "
        f"{config.nulls}"
    )
    model.fit(frame, table=name, listener_for=listener_for)
    entity = f"; per {key}: {', '.join(model.entity_columns)}" if model.entity_columns else ""
    listener.on_message(f"learned {model.sequences:,} sequences{entity}")
    for note in model.notes:
        listener.on_message(f"note: {note}")
    return model, frame


def fit_database(
    database: DatabaseSource,
    schema: DatabaseSchema,
    config: TrainingConfig,
    settings: dict[str, dict[str, Any]],
    listener: Listener,
) -> tuple[DatabaseModel, dict[str, pd.DataFrame]]:
    """Read every table of ``schema`` and learn them, children under their parent rows."""
    from synthdb.relational.model import DatabaseModel

    for warning in schema.warnings():
        listener.on_message(warning)
    frames = {}
    for name in schema.order:
        frames[name] = database.read(name)
    listener.on_message(
        f"training on {database.location}: {len(schema.tables)} tables, "
        f"{schema.foreign_key_count} foreign keys, "
        f"{sum(len(f) for f in frames.values()):,} rows; purpose {config.purpose}, "
        f"max {config.max_epochs} epochs"
    )
    public = inputs.public_tables(settings)
    if public and config.privacy is not None:
        privacy = config.privacy.model_copy(update={"public_tables": public})
        config = config.model_copy(update={"privacy": privacy})
    elif public:
        listener.on_message(
            f"note: public tables ({', '.join(public)}) matter under differential privacy "
            "only; without it every table is learned"
        )
    configs, contexts, orders = inputs.table_configs(config, settings)
    model = DatabaseModel(config, configs=configs, contexts=contexts, orders=orders)

    def listener_for(name: str, rows: int) -> Relay:
        plan = model.plans[name]
        under = f" under {plan.context.parent}" if plan.context else ""
        listener.on_training(name)
        return Relay(listener, f"table {name}: {rows:,} rows{under}")

    model.fit(schema, frames, listener_for=listener_for)
    for note in model.notes:
        listener.on_message(f"note: {note}")
    return model, frames


def null_lines(report: dict[str, Any]) -> list[str]:
    """What the NULL policy did, in a line or two (from ``NullReport.to_dict()``)."""
    lines = []
    policy = report["policy"]
    if policy == "drop" and report.get("estimated"):  # exact counts are not kept under DP
        lines.append(f"nulls drop: rows with a NULL removed, about {report['rows_after']:,} left")
    elif policy == "drop":
        lines.append(
            f"nulls drop: removed {report['rows_dropped']:,} of {report['rows_before']:,} rows"
        )
    elif policy == "replace":
        cells = report["cells_replaced"]
        if cells:
            detail = ", ".join(
                f"{c} {n:,} (-> {report['replaced_with'][c]})" for c, n in cells.items()
            )
            lines.append(f"nulls replace: {detail}")
        else:
            lines.append("nulls replace: nothing to replace")
    lines += [f"warning: {warning}" for warning in report.get("warnings", [])]
    return lines
