"""What a job does, as thin calls into the library: train a table's model (and write its
report), generate rows from it.

These run in a worker process (see :mod:`synthdb.service.jobs`). They know nothing of HTTP or
of the state tables: they read a source, write files under the paths they are given and report
progress to a :class:`Progress`. The same steps as ``synthdb train``, ``generate`` and ``run
--report`` (``cli/app.py``'s ``_train``, ``_generate``, ``_write_report``); when a
library-level ``synthdb.pipeline`` exists, these bodies become calls to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from synthdb.config import TrainingConfig
    from synthdb.training.loop import EpochRecord, TrainingResult

#: Rows drawn for a model's report: the training rows, up to this many.
REPORT_ROWS = 50_000
#: Seconds between two progress writes (an epoch's end is always written).
THROTTLE = 0.5


class JobGone(Exception):
    """The job is no longer ours to finish (cancelled, or marked interrupted by a restart)."""


class Progress:
    """A job's progress as one JSON-able dict, written through ``sink`` at most every
    :data:`THROTTLE` seconds; also a training listener (``synthdb.training.loop``).

    Keys: ``phase`` (a short message), ``epoch``, ``max_epochs``, ``step``,
    ``steps_per_epoch``, ``loss``, ``val_accuracy``, ``epsilon`` (spent so far, under DP),
    ``curve`` (one entry per epoch), ``rows_written``, ``rows_total``.
    """

    def __init__(self, sink: Callable[[dict[str, Any]], bool]) -> None:
        self.sink = sink
        self.data: dict[str, Any] = {"phase": "starting", "curve": []}
        self.last = 0.0

    def update(self, *, force: bool = False, **fields: Any) -> None:
        self.data.update(fields)
        now = time.monotonic()
        if force or now - self.last >= THROTTLE:
            self.last = now
            if not self.sink(self.data):
                raise JobGone

    def phase(self, message: str) -> None:
        self.update(force=True, phase=message)

    # training listener
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.update(
            force=True,
            phase="training",
            epoch=1,
            max_epochs=max_epochs,
            step=0,
            steps_per_epoch=steps_per_epoch,
        )

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.update(epoch=epoch, step=step, loss=_number(loss))

    def on_epoch(self, record: EpochRecord) -> None:
        point = {
            "epoch": record.epoch,
            "loss": _number(record.loss),
            "val_loss": _number(record.val_loss),
            "val_accuracy": _number(record.val_accuracy),
            "epsilon": record.epsilon,
            "seconds": round(record.seconds, 3),
            "best": record.best,
        }
        self.data["curve"].append(point)
        self.update(
            force=True,
            epoch=record.epoch,
            loss=point["loss"],
            val_accuracy=point["val_accuracy"],
            epsilon=record.epsilon,
        )

    def on_stop(self, result: TrainingResult) -> None:
        self.update(force=True, phase=f"training stopped: {result.stop_reason}")


def _number(value: float) -> float | None:
    """NaN (losses under DP) is not JSON: None instead."""
    return None if value != value else round(float(value), 6)


@dataclass(frozen=True)
class Source:
    """Where a dataset's table is: a file path or a database URL, and the table to read."""

    location: str
    table: str | None
    #: the dataset's name, for messages and the report
    shown: str
    #: every table of a database (related tables), not one
    database: bool = False


def train(
    source: Source,
    config: TrainingConfig,
    model_path: Path,
    report_path: Path | None,
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Train one table's model, save it, and (with ``report_path``) write its report page;
    return the model's summary for the model list."""
    from synthdb.io.sources import read_table
    from synthdb.synthesizer import Synthesizer

    progress.phase(f"reading {source.shown}")
    frame = read_table(source.location, source.table)
    name = source.table or _table_name(source.shown)
    progress.phase(
        f"preparing {len(frame):,} rows x {frame.shape[1]} columns (purpose {config.purpose}, "
        f"max {config.max_epochs} epochs, nulls {config.nulls})"
    )
    synthesizer = Synthesizer(config).fit(frame, table=name, listener=progress)
    progress.phase("saving the model")
    synthesizer.save(model_path)
    training = synthesizer.training
    ledger = synthesizer.ledger
    summary: dict[str, Any] = {
        "kind": "table",
        "table": name,
        "rows": int(synthesizer.null_report.rows_before),
        "columns": int(frame.shape[1]),
        "stop_reason": training.stop_reason,
        "epochs": len(training.epochs),
        "best_epoch": training.best_epoch,
        "best_accuracy": _number(training.best_accuracy),
        "seconds": round(training.seconds, 1),
        "epsilon": None if ledger is None else round(ledger.total_epsilon, 6),
        "nulls": synthesizer.null_report.to_dict(),
    }
    if report_path is not None:
        summary["accuracy"] = _report(
            synthesizer, frame, name, source, model_path, report_path, work, progress
        )
    return summary


def _report(
    synthesizer: Any,
    frame: pd.DataFrame,
    name: str,
    source: Source,
    model_path: Path,
    report_path: Path,
    work: Path,
    progress: Progress,
) -> float | None:
    """Draw rows, evaluate them against the source and write the page (as ``run --report``)."""
    from synthdb.io.sinks import atomic_path
    from synthdb.io.sources import read_table
    from synthdb.report import Report
    from synthdb.report.model import model_summary
    from synthdb.scoring import evaluate

    rows = min(int(synthesizer.null_report.rows_before), REPORT_ROWS)
    sample = work / "report-sample.csv"
    _write_rows(synthesizer, str(sample), rows, 0, name, progress, "drawing rows for the report")
    synthetic = read_table(sample)
    notes = [f"{rows:,} synthetic rows drawn with seed 0 for this page"]
    reference = frame
    if synthesizer.null_report.policy == "drop" and bool(frame.isna().to_numpy().any()):
        reference = frame.dropna().reset_index(drop=True)
        notes.append(
            f"accuracy is measured against the {len(reference):,} source rows without NULL "
            "that the model learned (nulls drop)"
        )
    progress.phase("evaluating the synthetic rows")
    quality = evaluate(
        reference,
        synthetic,
        None,
        table=name,
        progress=lambda message: progress.update(phase=message),
        rules=synthesizer.state.rules,
    )
    page = Report(
        quality=quality,
        table=name,
        sources={
            "real": source.shown,
            "synthetic": "drawn by the service",
            "holdout": None,
            "model": model_path.name,
        },
        model=model_summary(model_path),
        notes=notes,
    )
    progress.phase("drawing the report's pictures")
    html = page.html(progress=lambda message: progress.update(phase=message))
    with atomic_path(report_path) as temporary:
        temporary.write_text(html, encoding="utf-8")
    sample.unlink(missing_ok=True)
    overall = getattr(quality, "overall", None)
    return None if overall is None or overall != overall else round(float(overall), 4)


def train_database(
    source: Source,
    config: TrainingConfig,
    model_path: Path,
    report_path: Path | None,
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Train one model per table of a database, parents first (as ``synthdb train DB``), save
    it, and (with ``report_path``) write the database's report page."""
    from synthdb.io.database import open_database
    from synthdb.relational.model import DatabaseModel

    progress.phase(f"reading {source.shown}")
    database = open_database(source.location)
    schema = database.schema(None)
    frames = {name: database.read(name) for name in schema.order}
    model = DatabaseModel(config)
    order = list(schema.order)

    def listener_for(name: str, rows: int) -> Progress:
        progress.data["curve"] = []  # one curve per table: its epochs start again at 1
        progress.update(
            force=True,
            phase=f"table {name} ({order.index(name) + 1} of {len(order)}): {rows:,} rows",
            table=name,
        )
        return progress

    model.fit(schema, frames, listener_for=listener_for)
    progress.phase("saving the model")
    model.save(model_path)
    summary: dict[str, Any] = {
        "kind": "database",
        "tables": len(order),
        "rows": int(sum(len(frame) for frame in frames.values())),
        "rows_per_table": {name: len(frames[name]) for name in order},
        "notes": list(schema.warnings()) + list(model.notes),
        "epsilon": None,
    }
    if report_path is not None:
        summary["accuracy"] = _database_report(
            database, order, model, source, model_path, report_path, work, progress
        )
    return summary


def _database_report(
    database: Any,
    order: list[str],
    model: Any,
    source: Source,
    model_path: Path,
    report_path: Path,
    work: Path,
    progress: Progress,
) -> float | None:
    from synthdb.io.database import write_database
    from synthdb.io.sinks import atomic_path
    from synthdb.report import build_database_report

    progress.phase("drawing a twin for the report")
    schema = model._fitted()
    twin = work / "report-twin"
    write_database(twin, schema, model.generate(scale=1.0, seed=0))
    report = build_database_report(
        database,
        str(twin),
        model=model_path,
        tables=order,
        progress=lambda message: progress.update(phase=message),
    )
    progress.phase("drawing the report's pictures")
    html = report.html(progress=lambda message: progress.update(phase=message))
    with atomic_path(report_path) as temporary:
        temporary.write_text(html, encoding="utf-8")
    scores = [t.overall for t in report.quality.accuracy.tables if t.overall is not None]
    return round(sum(scores) / len(scores), 4) if scores else None


def generate_database(
    model_path: Path,
    output: str,
    scale: float | None,
    seed: int,
    overwrite: bool,
    progress: Progress,
) -> dict[str, Any]:
    """A whole synthetic database from a database's model, written to a database URL or a
    folder of CSV files, all or nothing; ``scale`` multiplies the root tables' rows."""
    from synthdb.io.database import check_database_output, write_database
    from synthdb.relational.model import DatabaseModel

    progress.phase("loading the model")
    model = DatabaseModel.load(model_path)
    schema = model._fitted()
    check_database_output(output, schema, overwrite=overwrite)
    progress.phase(f"generating {len(schema.tables)} tables at scale {scale or 1.0:g}")
    synthetic = model.generate(scale=scale or 1.0, seed=seed)
    progress.phase("writing the tables")
    written = write_database(output, schema, synthetic, overwrite=overwrite)
    rows = int(sum(written.values()))
    progress.update(force=True, rows_written=rows, rows_total=rows)
    return {"rows": rows, "rows_per_table": {k: int(v) for k, v in written.items()}, "seed": seed}


def generate(
    model_path: Path,
    output: str,
    table: str | None,
    rows: int | None,
    scale: float | None,
    seed: int,
    overwrite: bool,
    progress: Progress,
) -> dict[str, Any]:
    """Draw rows from a table's model into ``output`` (a file or a database URL), all or
    nothing; ``rows`` or ``scale`` (times the training rows; default 1)."""
    from synthdb.synthesizer import Synthesizer

    progress.phase("loading the model")
    synthesizer = Synthesizer.load(model_path)
    trained = int(synthesizer.null_report.rows_before)
    count = rows if rows is not None else max(1, round(trained * (scale or 1.0)))
    location = _write_rows(
        synthesizer,
        output,
        count,
        seed,
        table or synthesizer.schema.name,
        progress,
        f"generating {count:,} rows",
        overwrite=overwrite,
    )
    return {"rows": count, "seed": seed, "output": location}


def _write_rows(
    synthesizer: Any,
    output: str,
    rows: int,
    seed: int,
    table: str,
    progress: Progress,
    phase: str,
    *,
    overwrite: bool = False,
) -> str:
    from synthdb.io.sinks import open_sink

    sink = open_sink(output, table=table, overwrite=overwrite)
    progress.update(force=True, phase=phase, rows_written=0, rows_total=rows)
    batches = synthesizer.iter_samples(rows, seed=seed, finish=sink.prepare)
    written = 0

    def counted() -> Iterator[pd.DataFrame]:
        nonlocal written
        for batch in batches:
            yield batch
            written += len(batch)
            progress.update(rows_written=written)

    sink.write_batches(table, counted())
    progress.update(force=True, rows_written=rows)
    return str(sink.location)


def _table_name(shown: str) -> str:
    from synthdb.io._locations import table_name

    return table_name(Path(shown))


#: Job file keys the service sets itself, and keys it cannot serve yet.
_SERVICE_KEYS = {"input", "output", "rows", "sample_seed", "encoding", "holdout"}
_NOT_YET = {"tables", "sequence_key", "order_by"}


def config_from(values: dict[str, Any]) -> tuple[TrainingConfig, str | None]:
    """A job file's keys (``max-epochs`` or ``max_epochs``) checked by the CLI's validation;
    returns the config and the table to read (``table``). Raises :class:`UsageError` with the
    CLI's one-line message naming the key."""
    from synthdb.config import make_config
    from synthdb.errors import UsageError

    if not isinstance(values, dict):
        raise UsageError('config must be a mapping of job file keys, e.g. {"max-epochs": 40}')
    settings = {str(k).replace("-", "_"): v for k, v in values.items()}
    for key in sorted(settings):
        if key in _SERVICE_KEYS:
            raise UsageError(f"--{key.replace('_', '-')}: set by the service, not in config")
        if key in _NOT_YET:
            raise UsageError(
                f"--{key.replace('_', '-')}: not available in synthdb serve yet; use the "
                "command line (synthdb train) for databases and sequences"
            )
    table = settings.pop("table", None)
    if table is not None and (not isinstance(table, str) or not table):
        raise UsageError(f"--table: must be a table name (got {table!r})")
    try:
        return make_config(**settings), table
    except (TypeError, ValueError, AttributeError) as exc:  # shapes pydantic never sees
        raise UsageError(f"config: {str(exc).splitlines()[0]}") from None
