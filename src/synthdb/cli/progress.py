"""Rich presentation of training and generation progress; the training loop only emits events.

The live bars are drawn only on a terminal. Redirected to a file or a pipe, stderr gets the
plain one-line-per-epoch log instead, which is what a log file or a CI job wants to keep.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from synthdb.training.loop import EpochRecord, TrainingResult


class EpochProgress:
    """A bar over epochs with loss, validation accuracy and time left; one log line per epoch."""

    def __init__(self, console: Console, label: str = "training") -> None:
        self.console = console
        self.label = label
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.steps = 1
        self.max_epochs = 1
        self.accuracy = ""

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.steps = steps_per_epoch
        self.max_epochs = max_epochs
        self.console.print(
            f"training: up to {max_epochs} epochs of {steps_per_epoch} steps", soft_wrap=True
        )
        if not self.console.is_terminal:
            return
        # "left" is an upper bound: it assumes every epoch up to --max-epochs will run.
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("left at most"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            self.label, total=max_epochs * steps_per_epoch, status=f"epoch 1/{max_epochs}"
        )

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(
                self.task,
                completed=(epoch - 1) * self.steps + step,
                status=f"epoch {epoch}/{self.max_epochs}"
                + (f" loss {loss:.3f}" if loss == loss else "")  # NaN under DP
                + self.accuracy,
            )

    def on_epoch(self, record: EpochRecord) -> None:
        if record.epsilon is not None:  # DP: no losses or accuracies (they read the data)
            self.accuracy = f", epsilon spent {record.epsilon:.3f}"
            self.console.print(
                f"  epoch {record.epoch:>3}  epsilon spent {record.epsilon:.4f}  "
                f"{record.seconds:5.1f} s",
                soft_wrap=True,
            )
            return
        self.accuracy = f", last val accuracy {record.val_accuracy:.4f}"
        marker = " *" if record.best else ""
        self.console.print(
            f"  epoch {record.epoch:>3}  loss {record.loss:8.4f}  val loss {record.val_loss:8.4f}"
            f"  val accuracy {record.val_accuracy:.4f}  {record.seconds:5.1f} s{marker}",
            soft_wrap=True,
        )

    def on_stop(self, result: TrainingResult) -> None:
        self.close()
        if result.epochs and result.epochs[-1].epsilon is not None:
            self.console.print(
                f"stopped: {result.stop_reason} after {len(result.epochs)} epochs "
                f"({result.seconds:.1f} s); kept the last epoch (no early stopping under DP)",
                soft_wrap=True,
            )
            return
        self.console.print(
            f"stopped: {result.stop_reason} after {len(result.epochs)} epochs "
            f"({result.seconds:.1f} s); kept epoch {result.best_epoch} "
            f"(validation accuracy {result.best_accuracy:.4f})",
            soft_wrap=True,
        )

    def close(self) -> None:
        """Take the bar off the screen; safe to call twice (Ctrl-C skips ``on_stop``)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class RowBar:
    """A bar of generated rows (or sequences); drawn only on a terminal."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        self.progress: Progress | None = None
        if not console.is_terminal:
            return
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(label, total=total)

    def update(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        """Take the bar off the screen; safe to call twice."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
