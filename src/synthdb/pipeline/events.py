"""What a pipeline run tells its face while it works, and what it hands back when done.

One :class:`Listener` receives everything: the training loop's events (epochs, steps, the stop),
the start of each model's training, generation progress, status lines and each output as it
is completed. The CLI draws them with rich; a service can keep them as JSON
(:class:`EventLog`). Outcomes are small dataclasses with ``to_dict()`` for JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from synthdb.training.loop import EpochRecord, TrainingResult

#: what a model file holds: one table, one table of sequences, or a database
ModelKind = Literal["table", "sequences", "database"]
#: what a bar counts: rows, whole sequences or a database's tables generated, or rows read by
#: a pass over a table too large for memory (:mod:`synthdb.streaming`)
Unit = Literal["rows", "sequences", "tables", "rows read"]


class Listener(Protocol):
    """Progress of a pipeline call. Every method is called from the calling thread.

    The first four are :class:`synthdb.training.loop.TrainingListener`'s, so a listener can be
    handed to the training loop as it is.

    A listener may stop the call: any exception it raises (but :class:`KeyboardInterrupt`,
    which ends training early and keeps the best epoch, as Ctrl-C does) propagates out of the
    pipeline function, and the outputs not yet complete are removed, not left half-written.
    A service cancels a job this way.
    """

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        """A model's training begins: at most ``max_epochs`` epochs of that many steps."""

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        """A gradient step is done (``loss`` is NaN under differential privacy)."""

    def on_epoch(self, record: EpochRecord) -> None:
        """An epoch is done: its losses, validation accuracy, seconds and epsilon spent."""

    def on_stop(self, result: TrainingResult) -> None:
        """A model's training ended: stop reason, the epoch kept, the per-epoch history."""

    def on_training(self, label: str) -> None:
        """A model is about to be trained: ``training`` for one table, the table's name for a
        database, ``sequences`` or ``events`` for the parts of a table of sequences. Tables
        with nothing to learn (keys only) may get this call and no ``on_start``."""

    def on_message(self, text: str) -> None:
        """A status line: what is being done, what was found, what was written (the lines
        ``synthdb`` prints on stderr)."""

    def on_rows(self, done: int, total: int, unit: Unit) -> None:
        """Generation progress: ``done`` of ``total`` rows or sequences written so far; called
        with ``done=0`` before the first, and last with ``done == total``."""

    def on_output(self, location: str) -> None:
        """An output (model file, table, database, report, JSON) is complete and in place."""


class SilentListener:
    """A listener that ignores everything: the default of every pipeline function."""

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        pass

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        pass

    def on_epoch(self, record: EpochRecord) -> None:
        pass

    def on_stop(self, result: TrainingResult) -> None:
        pass

    def on_training(self, label: str) -> None:
        pass

    def on_message(self, text: str) -> None:
        pass

    def on_rows(self, done: int, total: int, unit: Unit) -> None:
        pass

    def on_output(self, location: str) -> None:
        pass


class EventLog(SilentListener):
    """Every event as a JSON-ready dict, kept in :attr:`events` and passed to ``send``.

    Steps are left out unless ``steps`` (thousands per training); the epochs carry the curve.
    A service stores these as a job's progress; a test reads them back.
    """

    def __init__(
        self, send: Callable[[dict[str, Any]], None] | None = None, *, steps: bool = False
    ) -> None:
        self.events: list[dict[str, Any]] = []
        self._send = send
        self._steps = steps

    def _emit(self, event: str, **values: Any) -> None:
        item = {"event": event, **values}
        self.events.append(item)
        if self._send is not None:
            self._send(item)

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self._emit("start", max_epochs=max_epochs, steps_per_epoch=steps_per_epoch)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self._steps:
            self._emit("step", epoch=epoch, step=step, loss=loss if loss == loss else None)

    def on_epoch(self, record: EpochRecord) -> None:
        values = {k: (v if v == v else None) for k, v in asdict(record).items()}  # NaN: null
        self._emit("epoch", **values)

    def on_stop(self, result: TrainingResult) -> None:
        self._emit(
            "stop",
            stop_reason=result.stop_reason,
            epochs=len(result.epochs),
            best_epoch=result.best_epoch,
            seconds=result.seconds,
        )

    def on_training(self, label: str) -> None:
        self._emit("training", label=label)

    def on_message(self, text: str) -> None:
        self._emit("message", text=text)

    def on_rows(self, done: int, total: int, unit: Unit) -> None:
        self._emit("rows", done=done, total=total, unit=unit)

    def on_output(self, location: str) -> None:
        self._emit("output", location=location)


class Relay:
    """The training loop's listener for one model: forwards to the pipeline's listener, and
    says the model's header (what is learned, how) just before its first epoch, so that a
    problem found while preparing the data is the only thing said."""

    def __init__(self, listener: Listener, header: str, notes: Sequence[str] = ()) -> None:
        self.listener = listener
        self.header = header
        #: lines said after the header (warnings found before training)
        self.notes = list(notes)
        self.started = False

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.started = True
        if self.header:
            self.listener.on_message(self.header)
        for note in self.notes:
            self.listener.on_message(note)
        self.listener.on_start(max_epochs, steps_per_epoch)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.listener.on_step(epoch, step, loss)

    def on_epoch(self, record: EpochRecord) -> None:
        self.listener.on_epoch(record)

    def on_stop(self, result: TrainingResult) -> None:
        self.listener.on_stop(result)

    def on_message(self, text: str) -> None:
        """A status line from whatever runs the loop (a Ray training that lost a worker)."""
        self.listener.on_message(text)


def _as_json(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    return value


@dataclass(frozen=True)
class TrainOutcome:
    """What :func:`synthdb.pipeline.train` wrote."""

    model_path: Path
    kind: ModelKind
    #: source rows read (all tables' for a database)
    rows: int
    #: tables learned: 1 for a table, 2 for a table of sequences (the sequences and their
    #: events), the database's tables
    tables: int
    #: why training stopped (one table only; each part of the others has its own)
    stop_reason: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(_as_json(asdict(self)))


@dataclass(frozen=True)
class GenerateOutcome:
    """What :func:`synthdb.pipeline.generate` wrote."""

    #: where the rows went, fit for messages (a database URL without its password)
    output: str
    kind: ModelKind
    #: rows written, all tables together
    rows: int
    #: rows written per table, in the order they were written
    tables: dict[str, int]
    #: sequences written (a model of sequences only)
    sequences: int | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(_as_json(asdict(self)))


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`synthdb.pipeline.run` trained, wrote and measured."""

    output: str
    kind: ModelKind
    #: the model file kept, if one was asked for
    model_path: Path | None
    json_path: Path | None
    report_path: Path | None
    #: rows written, all tables together
    rows: int
    #: rows per table of the source that accuracy was measured against, and of the twin
    source_rows: dict[str, int]
    synthetic_rows: dict[str, int]
    #: every figure measured: the JSON that ``json_path`` holds
    figures: dict[str, Any]
    #: why accuracy was measured as it was (say, against the rows without NULL)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(_as_json(asdict(self)))


@dataclass(frozen=True)
class EvaluateOutcome:
    """The figures of :func:`synthdb.pipeline.evaluate`, and where they were written."""

    figures: dict[str, Any]
    json_path: Path | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(_as_json(asdict(self)))


@dataclass(frozen=True)
class ReportOutcome:
    """The page :func:`synthdb.pipeline.report` wrote, and its figures."""

    path: Path
    json_path: Path | None
    #: the page's size in bytes
    size: int
    figures: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(_as_json(asdict(self)))
