"""What a job does, as calls into :mod:`synthdb.pipeline`, the functions the command line
calls: train a model (and write its report page, as ``synthdb run --report`` does), generate
from it (as ``synthdb generate`` does).

These run in a worker process (see :mod:`synthdb.service.jobs`). They know nothing of HTTP or
of the state tables: they hand the pipeline a source, the paths to write and a
:class:`Progress` to listen with, and read the model list's summary back from the model file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthdb.config import TrainingConfig
    from synthdb.pipeline import Unit
    from synthdb.training.loop import EpochRecord, TrainingResult

#: Rows drawn for a model's report: the training rows, up to this many.
REPORT_ROWS = 50_000
#: Seconds between two progress writes (an epoch's end, a status line and the first and last
#: rows are always written).
THROTTLE = 0.5
#: Status lines kept in a job's progress (``log``), the latest last.
LOG_LINES = 40


class JobGone(Exception):
    """The job is no longer ours to finish (cancelled, or marked interrupted by a restart).

    Raised from a :class:`Progress` method, it stops the pipeline call (any exception but
    ``KeyboardInterrupt`` does), and the pipeline removes what it had not finished writing."""


class Progress:
    """A job's progress as one JSON-able dict, written through ``sink`` at most every
    :data:`THROTTLE` seconds; a :class:`synthdb.pipeline.Listener`.

    Keys: ``phase`` (the latest status line), ``log`` (the last :data:`LOG_LINES` of them),
    ``training`` (what is being trained: ``training`` for one table, a database's table, or
    ``sequences`` then ``events`` for a model of sequences), ``epoch``, ``max_epochs``,
    ``step``, ``steps_per_epoch``, ``loss``, ``val_accuracy``, ``epsilon`` (spent so far,
    under DP), ``curve`` (one entry per epoch of what is being trained), ``stop_reason``,
    ``rows_written`` of ``rows_total`` (``unit``: ``rows`` or ``sequences``), ``outputs``
    (those completed). Status lines and outputs pass through ``hide`` (server paths and
    passwords out). ``sink`` returns False when the job is no longer ours: :class:`JobGone`.
    """

    def __init__(
        self, sink: Callable[[dict[str, Any]], bool], hide: Callable[[str], str] | None = None
    ) -> None:
        self.sink = sink
        self.hide: Callable[[str], str] = hide or (lambda text: text)
        self.data: dict[str, Any] = {"phase": "starting", "curve": [], "log": []}
        self.last = 0.0

    def update(self, *, force: bool = False, **fields: Any) -> None:
        self.data.update(fields)
        now = time.monotonic()
        if force or now - self.last >= THROTTLE:
            self.last = now
            if not self.sink(self.data):
                raise JobGone

    def phase(self, message: str) -> None:
        self.on_message(message)

    # the training loop's events
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.update(
            force=True,
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
        self.update(force=True, stop_reason=result.stop_reason)

    # the pipeline's own
    def on_training(self, label: str) -> None:
        # each model (a database's table, the sequences and their events) has its own curve,
        # whose epochs start again at 1
        self.data["curve"] = []
        for key in ("epoch", "max_epochs", "step", "steps_per_epoch", "loss", "val_accuracy"):
            self.data.pop(key, None)
        self.update(force=True, training=label)

    def on_message(self, text: str) -> None:
        line = self.hide(text)
        self.data["log"] = [*self.data["log"], line][-LOG_LINES:]
        self.update(force=True, phase=line)

    def on_rows(self, done: int, total: int, unit: Unit) -> None:
        self.update(force=done in (0, total), rows_written=done, rows_total=total, unit=unit)

    def on_output(self, location: str) -> None:
        self.data.setdefault("outputs", []).append(self.hide(location))
        self.update(force=True)


def _number(value: float) -> float | None:
    """NaN (losses under DP) is not JSON: None instead."""
    return None if value != value else round(float(value), 6)


def hider(root: Path, names: Mapping[str, str], secrets: list[str]) -> Callable[[str], str]:
    """What a job's messages say in place of server paths and passwords: ``names`` (say, a
    dataset's file -> its name) first, then any other path in the data folder ``root`` as
    its file name, then each of ``secrets`` as ``***``."""
    from synthdb.service.security import mask

    inside = re.compile(re.escape(str(root).rstrip("/")) + r"/[^\s'\",;:()]*")

    def hide(text: str) -> str:
        for old in sorted(names, key=len, reverse=True):
            if old:
                text = text.replace(old, names[old])
        text = inside.sub(lambda found: Path(found.group(0)).name, text)
        return mask(text, secrets)

    return hide


@dataclass(frozen=True)
class Source:
    """Where a dataset's table is: a file path or a database URL, and the table to read."""

    location: str
    table: str | None
    #: the dataset's name, for messages and the report
    shown: str
    #: every table of a database (related tables), not one
    database: bool = False
    #: the chosen table's rows and its columns' distinct values, as the upload found them
    rows: int | None = None
    distinct: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Training:
    """A model's config as the service takes it: the job file's keys, checked."""

    config: TrainingConfig
    #: the table to read, of a dataset of several
    table: str | None = None
    sequence_key: str | None = None
    order_by: list[str] = field(default_factory=list)
    #: the job file's ``tables`` section (keys, foreign keys and settings per table)
    tables: dict[str, Any] | None = None


def train(
    source: Source,
    training: Training,
    model_path: Path,
    report_path: Path | None,
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Train a model of the source (a table, a table of sequences or a whole database), save
    it, and (with ``report_path``) write its report page; return the model's summary for the
    model list, read from the model file."""
    from synthdb import pipeline

    name = None if source.database else (source.table or _table_name(source.shown))
    job = {"tables": training.tables} if training.tables else None
    sequence_key = training.sequence_key
    order_by = training.order_by or None
    if report_path is None:
        pipeline.train(
            source.location,
            model_path,
            training.config,
            table=name,
            job=job,
            sequence_key=sequence_key,
            order_by=order_by,
            listener=progress,
        )
        return summary_of(model_path, name, None)
    rows, sequences = _report_sample(source, sequence_key)
    output = work / ("report-twin" if source.database else "report-sample.csv")
    done = pipeline.run(
        source.location,
        output,
        training.config,
        rows=rows,
        sequences=sequences,
        model_path=model_path,
        report_path=report_path,
        table=name,
        job=job,
        sequence_key=sequence_key,
        order_by=order_by,
        labels={
            "real": source.shown,
            "synthetic": "drawn by the service",
            "model": model_path.name,
        },
        listener=progress,
    )
    return summary_of(model_path, name, _accuracy(done.figures))


def _report_sample(source: Source, sequence_key: str | None) -> tuple[int | None, int | None]:
    """Rows (or sequences) drawn for the report: as many as the source has, up to
    :data:`REPORT_ROWS` rows (for sequences, the same share of them)."""
    if source.database or source.rows is None or source.rows <= REPORT_ROWS:
        return None, None
    if sequence_key is None:
        return REPORT_ROWS, None
    keys = source.distinct.get(sequence_key)
    return None, max(1, keys * REPORT_ROWS // source.rows) if keys else None


def _accuracy(figures: dict[str, Any]) -> float | None:
    """The model list's accuracy: the twin's overall accuracy, for a database the mean of its
    tables'."""
    if "overall" in figures:
        scores = [figures["overall"]]
    else:
        scores = [table.get("overall") for table in figures.get("tables", [])]
    kept = [float(s) for s in scores if isinstance(s, int | float) and s == s]
    return round(sum(kept) / len(kept), 4) if kept else None


def summary_of(model_path: Path, table: str | None, accuracy: float | None) -> dict[str, Any]:
    """The model list's summary of a model file, from its manifest."""
    from synthdb.modelfile import read_manifest
    from synthdb.report.model import model_summary

    manifest = read_manifest(model_path)
    if manifest.get("kind") == "database":
        order = [t["name"] for t in manifest.get("database", {}).get("tables", [])]
        counts = {name: int(manifest["tables"][name]["rows"]) for name in order}
        return {
            "kind": "database",
            "tables": len(order),
            "rows": sum(counts.values()),
            "rows_per_table": counts,
            "notes": list(manifest.get("notes", [])),
            "epsilon": None,
            "accuracy": accuracy,
        }
    about = model_summary(model_path)
    nulls = about.get("nulls") or {}
    privacy = about.get("privacy") or {}
    epsilon = privacy.get("total_epsilon")
    best = about.get("best_accuracy")
    seconds = about.get("training_seconds")
    summary: dict[str, Any] = {
        "kind": "table",
        "table": table,
        "rows": nulls.get("rows_before"),
        "columns": len(manifest.get("schema", {}).get("columns", [])),
        "stop_reason": about.get("stop_reason"),
        "epochs": about.get("epochs_used"),
        "best_epoch": about.get("best_epoch"),
        "best_accuracy": None if best is None else round(float(best), 6),
        "seconds": None if seconds is None else round(float(seconds), 1),
        "epsilon": None if epsilon is None else round(float(epsilon), 6),
        "nulls": nulls,
        "accuracy": accuracy,
    }
    if manifest.get("kind") == "sequences":
        sequences = manifest["sequence_table"]
        summary.update(
            kind="sequences",
            columns=len(sequences["columns"]),
            sequences=int(sequences["sequences"]),
            sequence_key=sequences["sequence_key"],
            order_by=list(sequences["order_by"]),
        )
    return summary


def generate(
    model_path: Path,
    output: str,
    summary: dict[str, Any],
    params: dict[str, Any],
    progress: Progress,
) -> dict[str, Any]:
    """Generate from a model into ``output`` (a file, a folder for a database's tables, or a
    database URL), all or nothing, as ``params`` (the generate request) asks; a table's
    model takes ``scale`` too, as a multiple of its training rows."""
    from synthdb import pipeline

    kind = summary.get("kind", "table")
    rows, scale = params.get("rows"), params.get("scale")
    if kind == "table" and scale is not None:
        rows, scale = max(1, round(int(summary["rows"]) * float(scale))), None
    seed = int(params.get("seed", 0))
    done = pipeline.generate(
        model_path,
        output,
        rows=rows,
        scale=scale,
        sequences=params.get("sequences"),
        seed=seed,
        table=params.get("table"),
        overwrite=bool(params.get("overwrite", False)),
        listener=progress,
    )
    result: dict[str, Any] = {"rows": done.rows, "seed": seed}
    if done.kind == "database":
        result["rows_per_table"] = dict(done.tables)
    if done.sequences is not None:
        result["sequences"] = done.sequences
    return result


def _table_name(shown: str) -> str:
    from synthdb.io._locations import table_name

    return table_name(Path(shown)) or "table"


#: Job file keys the service sets itself.
_SERVICE_KEYS = {"input", "output", "rows", "sample_seed", "encoding", "holdout"}
#: What a table's entry in ``tables`` may not say: the dataset is the input.
_SERVICE_TABLE_KEYS = {"path"}


def config_from(values: Any) -> Training:
    """A job file's keys (``max-epochs`` or ``max_epochs``) checked by the library's
    validation: the training config, the table to read (``table``), how its rows form
    sequences (``sequence_key``, ``order_by``) and the ``tables`` section of a database.
    Raises :class:`UsageError` with the library's one-line message naming the key in
    backticks."""
    from synthdb.config import make_config
    from synthdb.errors import UsageError
    from synthdb.jobfile import sequence_values
    from synthdb.pipeline.inputs import refuse_sequences_for_database, sequencing

    if not isinstance(values, dict):
        raise UsageError('config must be a mapping of job file keys, e.g. {"max-epochs": 40}')
    settings = {str(k).replace("-", "_"): v for k, v in values.items()}
    for key in sorted(settings):
        if key in _SERVICE_KEYS:
            raise UsageError(f"`{key}`: set by the service, not in config")
    table = settings.pop("table", None)
    if table is not None and (not isinstance(table, str) or not table):
        raise UsageError(f"`table`: must be a table name (got {table!r})")
    tables = settings.pop("tables", None)
    sequenced: dict[str, Any] = {}
    for name in ("sequence_key", "order_by"):
        if name in settings:
            try:
                sequenced |= sequence_values({name: settings.pop(name)})
            except UsageError as exc:
                raise UsageError(f"`{name}`: {str(exc).removeprefix(name + ' ')}") from None
    try:
        config = make_config(**settings)
    except (TypeError, ValueError, AttributeError) as exc:  # shapes pydantic never sees
        raise UsageError(f"config: {str(exc).splitlines()[0]}") from None
    found = sequencing(None, sequenced.get("sequence_key"), sequenced.get("order_by"))
    if tables is not None:
        refuse_sequences_for_database(found and found[0], sequenced.get("order_by"), None)
        tables = _tables(tables, config)
    if found is None:
        return Training(config, table, tables=tables)
    return Training(config, table, found[0], found[1], tables)


def _tables(raw: Any, config: TrainingConfig) -> dict[str, Any]:
    """A ``tables`` section, checked as the library checks a job file's, with each table's
    own training settings; a table's ``path`` is refused (the dataset is the input)."""
    from synthdb.errors import UsageError
    from synthdb.pipeline.inputs import table_configs
    from synthdb.schema.relations import parse_declarations

    declared = parse_declarations(raw, base=Path("."), where="`tables`")
    for name, entry in raw.items():
        for key in _SERVICE_TABLE_KEYS & set(entry or {}):
            raise UsageError(
                f"`tables`.{name}.{key}: set by the service (the dataset is the input), "
                "not in config"
            )
    for name, declaration in declared.items():
        try:
            table_configs(config, {name: dict(declaration.settings)})
        except UsageError as exc:
            raise UsageError(f"`tables`.{name}: {exc}") from None
        except (TypeError, ValueError, AttributeError) as exc:  # shapes pydantic never sees
            raise UsageError(f"`tables`.{name}: {str(exc).splitlines()[0]}") from None
    return {str(name): dict(entry or {}) for name, entry in raw.items()}
