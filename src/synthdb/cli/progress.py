"""Rich presentation of training and generation progress; the training loop only emits events."""

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
    """A bar over epochs showing loss, validation accuracy and time left, plus one line per epoch."""

    def __init__(self, console: Console, label: str = "training") -> None:
        self.console = console
        self.label = label
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task: TaskID | None = None
        self.steps = 1

    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.steps = steps_per_epoch
        self.progress.start()
        self.task = self.progress.add_task(
            self.label, total=max_epochs * steps_per_epoch, status="epoch 1"
        )

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self.task is not None:
            self.progress.update(
                self.task,
                completed=(epoch - 1) * self.steps + step,
                status=f"epoch {epoch} loss {loss:.3f}",
            )

    def on_epoch(self, record: EpochRecord) -> None:
        marker = " *" if record.best else ""
        self.console.print(
            f"  epoch {record.epoch:>3}  loss {record.loss:8.4f}  val loss {record.val_loss:8.4f}"
            f"  val accuracy {record.val_accuracy:.4f}  {record.seconds:5.1f} s{marker}"
        )

    def on_stop(self, result: TrainingResult) -> None:
        self.progress.stop()
        self.console.print(
            f"stopped: {result.stop_reason} after {len(result.epochs)} epochs "
            f"({result.seconds:.1f} s); kept epoch {result.best_epoch} "
            f"(validation accuracy {result.best_accuracy:.4f})"
        )


def row_progress(console: Console, label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
