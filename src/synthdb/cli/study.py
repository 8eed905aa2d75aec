"""``synthdb study microbatches|noise|clip|learning-rate DATA``: the DP hyperparameter studies.

A thin face over :mod:`synthdb.study` (the runs and the fits) and
:mod:`synthdb.report.study_figures` (the picture). Every input and output is checked before the
first run; the JSON and the PNG are written at the end, each under a temporary name and then
renamed, so an interrupted or failed study leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from synthdb.cli._session import err, errors, say, session
from synthdb.cli.options import EncodingOpt, InputArg, OverwriteOpt, QuietOpt, TableOpt
from synthdb.config import (
    DEFAULT_PRIVATE_BATCH,
    DEFAULT_PURPOSE,
    PRESETS,
    Privacy,
    TrainingConfig,
)

if TYPE_CHECKING:  # PyTorch stays unloaded until a study runs: --help answers at once
    from synthdb.study import RunRecord, Sweep
    from synthdb.training.loop import EpochRecord, TrainingResult

study_app = typer.Typer(
    name="study",
    help="Train one table many times at a fixed epsilon, sweeping one DP-SGD parameter, and fit "
    "the trends of accuracy (a + b ln x) and training time (c + d x). Writes "
    "DIR/study-NAME.json and DIR/study-NAME.png.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _option(*names: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, show_default=False)


#: each study command's defaults, written once for the signature and the help
SEEDS = 3
EPSILON = 3.0
EPOCHS = 10


OutputDirOpt = Annotated[
    Path,
    _option(
        "--output",
        "-o",
        help="folder for study-NAME.json and study-NAME.png (created if missing).",
    ),
]
SeedsOpt = Annotated[
    int,
    _option(
        "--seeds", help=f"training runs per value, seeds 0, 1, ... Range: >= 1. Default: {SEEDS}."
    ),
]
StudyEpsilonOpt = Annotated[
    float,
    _option(
        "--epsilon",
        help=f"the fixed privacy budget of every run. Range: > 0. Default: {EPSILON:g}.",
    ),
]
EpochsOpt = Annotated[
    int,
    _option(
        "--epochs",
        help="the fixed number of epochs of every run (the noise is calibrated for them). "
        f"Range: 1-100000. Default: {EPOCHS}.",
    ),
]
StudyBatchOpt = Annotated[
    int | None,
    _option(
        "--batch-size",
        help="rows per step in every run. Range: >= 1. Default: what 'synthdb train "
        f"--epsilon' picks ({DEFAULT_PRIVATE_BATCH.describe()}).",
    ),
]
StudyNullsOpt = Annotated[
    Literal["replace", "drop", "keep"] | None,
    _option(
        "--nulls",
        help="what to do with NULL cells: replace (numbers -> mean, categories -> most "
        "frequent value), drop (rows with a NULL), keep (NULL learned as a value). "
        f"Default: {PRESETS[DEFAULT_PURPOSE]['nulls']}, as 'synthdb train' with its default "
        "purpose.",
    ),
]
HoldoutFileOpt = Annotated[
    str | None,
    _option(
        "--holdout",
        help="real rows not in DATA: their accuracy is drawn as the ceiling. Default: none.",
    ),
]
FixedMicrobatchesOpt = Annotated[
    int | None,
    _option(
        "--microbatches",
        help="fixed micro-batches of every run. Range: 1 to the batch size. "
        "Default: the batch size (per-example).",
    ),
]
FixedClipOpt = Annotated[
    float | None,
    _option(
        "--clip",
        help="fixed clipping norm of every run. Range: > 0. "
        f"Default: {Privacy.model_fields['clip'].default:g}.",
    ),
]
FixedLrOpt = Annotated[
    float | None,
    _option(
        "--learning-rate",
        help="fixed step size of every run. Range: > 0 and <= 1. "
        f"Default: {TrainingConfig.model_fields['learning_rate'].default:g}.",
    ),
]

_DEFAULT_VALUES = {
    "microbatches": "powers of two from 1 to the batch size",
    "noise": "0.6, 0.75, 1, 1.4 and 2 times the auto noise",
    "clip": "0.1, 0.3, 1, 3, 10",
    "learning-rate": "0.0003, 0.001, 0.003, 0.01, 0.03",
}


def _values_help(sweep: str) -> str:
    return f"values to sweep, comma-separated. Default: {_DEFAULT_VALUES[sweep]}."


class StudyProgress:
    """A bar over runs and one over the current run's steps; one line per finished run."""

    def __init__(self, console: Console, sweep: Sweep) -> None:
        from synthdb.study import LABELS

        self.console = console
        self.symbol = LABELS[sweep][1]
        self.progress: Progress | None = None
        self.runs: TaskID | None = None
        self.steps: TaskID | None = None
        self.per_epoch = 1
        if console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()

    # StudyListener
    def on_run_start(self, index: int, total: int, value: float, seed: int) -> None:
        if self.progress is None:
            return
        status = f"{self.symbol}={value:g} seed {seed}"
        if self.runs is None:
            self.runs = self.progress.add_task("runs", total=total, status=status)
        self.progress.update(self.runs, completed=index - 1, status=status)

    def training(self) -> StudyProgress:
        return self

    def on_run_done(self, index: int, total: int, record: RunRecord) -> None:
        head = f"run {index}/{total}  {self.symbol}={record.value:g} seed {record.seed}: "
        if record.refused is not None:
            line = head + f"refused: {record.refused}"
        else:
            line = head + (
                f"accuracy {record.accuracy:.4f}, {record.seconds:.1f} s training "
                f"({record.epochs} epochs, {record.steps} steps, {record.stop_reason})"
            )
        self.console.print(line, markup=False, soft_wrap=True)
        if self.progress is not None and self.runs is not None:
            self.progress.update(self.runs, completed=index)

    # TrainingListener, for the steps of the current run
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        self.per_epoch = steps_per_epoch
        if self.progress is None:
            return
        total = max_epochs * steps_per_epoch
        if self.steps is None:
            self.steps = self.progress.add_task("steps", total=total, status="")
        self.progress.reset(self.steps, total=total, status="")

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self.progress is not None and self.steps is not None:
            self.progress.update(
                self.steps, completed=(epoch - 1) * self.per_epoch + step, status=f"epoch {epoch}"
            )

    def on_epoch(self, record: EpochRecord) -> None:
        pass

    def on_stop(self, result: TrainingResult) -> None:
        pass

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def run_sweep(
    sweep: Sweep,
    source: str,
    output: Path,
    *,
    values: str | None,
    seeds: int,
    epsilon: float,
    epochs: int,
    batch_size: int | None,
    nulls: str | None,
    holdout: str | None,
    microbatches: int | None,
    clip: float | None,
    learning_rate: float | None,
    table: str | None,
    encoding: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """One ``synthdb study`` command: check, run, fit, draw, write."""
    from synthdb.errors import UsageError
    from synthdb.pipeline.inputs import check_output, open_table_input

    with errors(f"study {sweep}", quiet):
        from synthdb.config import make_config
        from synthdb.io.sources import read_table
        from synthdb.study import (
            StudySettings,
            check_values,
            default_batch,
            default_values,
            parse_values,
            run_study,
            summary,
        )

        fixed = {"microbatches": microbatches, "clip": clip, "learning-rate": learning_rate}
        if fixed.get(sweep) is not None:
            raise UsageError(
                f"--{sweep} is what 'study {sweep}' sweeps", hint="give its values with --values"
            )
        if seeds < 1:
            raise UsageError(f"--seeds must be at least 1 (got {seeds})")
        # every fixed setting validated once, as 'synthdb train' would, before reading data
        make_config(
            max_epochs=epochs,
            nulls=nulls,
            batch_size=batch_size,
            learning_rate=learning_rate,
            privacy={
                "epsilon": epsilon,
                **({"microbatches": microbatches} if microbatches is not None else {}),
                **({"clip": clip} if clip is not None else {}),
            },
        )
        paths = [output / f"study-{sweep}.json", output / f"study-{sweep}.png"]
        given = parse_values(values) if values is not None else None
        _check_folder(output)
        if output.is_dir():
            for path in paths:
                check_output(path, None, overwrite)
        location, name = open_table_input(source, table, encoding)
        frame = read_table(source, table, encoding=encoding)
        other = read_table(holdout, table, encoding=encoding) if holdout is not None else None
        batch = default_batch(len(frame), batch_size)
        if microbatches is not None and microbatches > batch:
            raise UsageError(
                f"--microbatches must be at most the batch size {batch} (got {microbatches})"
            )
        swept = check_values(
            sweep,
            given
            if given is not None
            else default_values(
                sweep,
                rows=len(frame),
                batch=batch,
                epsilon=epsilon,
                epochs=epochs,
                microbatches=microbatches,
                columns=frame.shape[1],
            ),
            batch,
        )
        settings = StudySettings(
            sweep=sweep,
            values=swept,
            seeds=seeds,
            epsilon=epsilon,
            epochs=epochs,
            batch_size=batch,
            nulls=make_config(max_epochs=epochs, nulls=nulls).nulls,
            microbatches=microbatches,
            clip=clip,
            learning_rate=learning_rate,
        )
        say(
            f"study {sweep} on {location}: {len(frame):,} rows x {frame.shape[1]} columns, "
            f"epsilon {epsilon:g}, {epochs} epochs, batch {batch}, nulls {settings.nulls}; "
            f"values {', '.join(f'{v:g}' for v in swept)}; {seeds} seed(s) each = "
            f"{len(swept) * seeds} runs"
        )
        progress = StudyProgress(err, sweep) if not quiet else None
        try:
            result = run_study(frame, settings, name=name, holdout=other, listener=progress)
        finally:
            if progress is not None:
                progress.close()
        data = result.to_dict()
        from synthdb.report.study_figures import study_png

        picture = study_png(data)
        _write(paths, json.dumps(data, indent=2) + "\n", picture, overwrite)
        session.written.extend(str(p) for p in paths)
        for line in summary(data):
            say(line)
        say(f"wrote {paths[0]} and {paths[1]} ({result.seconds:.0f} s in all)")


def _check_folder(output: Path) -> None:
    """The folder, or the nearest folder above it that exists, must be writable now."""
    from synthdb.errors import OutputError

    if output.exists() and not output.is_dir():
        raise OutputError(f"-o {output} is a file", hint="give a folder")
    existing = output
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create files in {existing}", hint="choose another -o folder")


def _write(paths: list[Path], text: str, picture: bytes, overwrite: bool) -> None:
    """Both files, or neither: each goes under a temporary name first."""
    from synthdb.io.sinks import atomic_path
    from synthdb.pipeline.inputs import check_output

    json_path, png_path = paths
    json_path.parent.mkdir(parents=True, exist_ok=True)
    for path in paths:  # again: one may have appeared during a study of hours
        check_output(path, None, overwrite)
    with atomic_path(json_path) as json_tmp, atomic_path(png_path) as png_tmp:
        json_tmp.write_text(text, encoding="utf-8")
        png_tmp.write_bytes(picture)


def _command(sweep: Sweep, summary: str) -> None:
    def command(
        source: InputArg,
        output: OutputDirOpt,
        values: str | None = None,
        seeds: SeedsOpt = SEEDS,
        epsilon: StudyEpsilonOpt = EPSILON,
        epochs: EpochsOpt = EPOCHS,
        batch_size: StudyBatchOpt = None,
        nulls: StudyNullsOpt = None,
        holdout: HoldoutFileOpt = None,
        microbatches: FixedMicrobatchesOpt = None,
        clip: FixedClipOpt = None,
        learning_rate: FixedLrOpt = None,
        table: TableOpt = None,
        encoding: EncodingOpt = "utf-8",
        overwrite: OverwriteOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        run_sweep(
            sweep,
            source,
            output,
            values=values,
            seeds=seeds,
            epsilon=epsilon,
            epochs=epochs,
            batch_size=batch_size,
            nulls=nulls,
            holdout=holdout,
            microbatches=microbatches,
            clip=clip,
            learning_rate=learning_rate,
            table=table,
            encoding=encoding,
            overwrite=overwrite,
            quiet=quiet,
        )

    command.__doc__ = summary
    # Typer reads the annotations; this one's help names the sweep's own default values, so
    # it is set as an object (annotations written in the body are strings evaluated later,
    # when ``sweep`` is out of scope).
    command.__annotations__["values"] = Annotated[
        str | None, _option("--values", help=_values_help(sweep))
    ]
    study_app.command(sweep)(command)


_command(
    "microbatches",
    "Accuracy and training time against the number of micro-batches (1 to the batch size): "
    "accuracy fitted as a + b ln(m), time as c + d m. Values the budget cannot carry (too "
    "few micro-batches: noise above the signal) are recorded as refused.",
)
_command(
    "noise",
    "Accuracy against the noise multiplier at the fixed epsilon: less noise buys fewer steps "
    "(training stops when the budget is spent), more noise trains every epoch with noisier "
    "gradients. Accuracy fitted in ln(sigma), linear and quadratic.",
)
_command(
    "clip",
    "Accuracy and training time against the clipping norm, the noise calibrated for the "
    "epochs ('auto'). Accuracy fitted in ln(C), linear and quadratic.",
)
_command(
    "learning-rate",
    "Accuracy and training time against the learning rate, the noise calibrated for the "
    "epochs ('auto'). Accuracy fitted in ln(lr), linear and quadratic.",
)
