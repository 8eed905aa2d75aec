"""The command line's side of one table learned as sequences (``--sequence-key``,
``--order-by``, ``--sequences``): reading the settings, training with progress, writing the
sequences, and their coherence figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console

from synthdb.config import TrainingConfig
from synthdb.errors import UsageError

if TYPE_CHECKING:
    from synthdb.relational.sequence_table import SequenceModel

Say = Callable[[str], None]


def sequence_options(
    job: Path | None, sequence_key: str | None, order_by: str | None
) -> tuple[str, list[str]] | None:
    """The sequence key and order columns from the flags, else the job file; None when the
    rows are not sequences. ``--order-by`` alone is a mistake, said in one line."""
    settings: dict[str, Any] = {}
    if job is not None:
        from synthdb.jobfile import sequence_settings

        settings = sequence_settings(job)
    key = sequence_key if sequence_key is not None else settings.get("sequence_key")
    if order_by is not None:
        order = [name.strip() for name in order_by.split(",") if name.strip()]
        if not order:
            raise UsageError("--order-by needs at least one column name")
    else:
        order = list(settings.get("order_by", []))
    if key is None:
        if order:
            raise UsageError(
                "--order-by orders the rows of each sequence, and needs --sequence-key",
                hint="name the column telling the sequences apart: --sequence-key COLUMN",
            )
        return None
    return key, order


def refuse_for_database(
    sequence_key: str | None, order_by: str | None, sequences: int | None
) -> None:
    """The sequence flags are for one table; a database orders its children in the job file."""
    for flag, value in (
        ("--sequence-key", sequence_key),
        ("--order-by", order_by),
        ("--sequences", sequences),
    ):
        if value is not None:
            raise UsageError(
                f"{flag} is for one table; in a database, a child table's rows are sequences "
                "under their parent row",
                hint="order them with tables.NAME.order_by in the job file",
            )


def train_sequences(
    frame: pd.DataFrame,
    shown: str,
    name: str,
    config: TrainingConfig,
    key: str,
    order: list[str],
    console: Console,
    say: Say,
    *,
    quiet: bool,
) -> SequenceModel:
    from synthdb.relational.sequence_table import SequenceModel, check_sequence_input

    check_sequence_input(frame, key, order, config)  # before the header: one line if wrong
    model = SequenceModel(config, sequence_key=key, order_by=order)
    open_bars: list[Any] = []

    def listener_for(table: str, rows: int) -> Any:
        for bar in open_bars:
            bar.close()
        open_bars.clear()
        if quiet:
            from synthdb.training.loop import QuietListener

            return QuietListener()
        from synthdb.cli.progress import EpochProgress

        what = "sequences" if table != name else "events"
        bar = EpochProgress(console, label=what, header=f"{what}: {rows:,} rows")
        open_bars.append(bar)
        return bar

    ordered = f", ordered by {', '.join(order)}" if order else ", in the rows' order"
    say(
        f"training on {shown}: {len(frame):,} rows x {frame.shape[1]} columns as sequences by "
        f"{key}{ordered}; purpose {config.purpose}, max {config.max_epochs} epochs, nulls "
        f"{config.nulls}"
    )
    try:
        model.fit(frame, table=name, listener_for=listener_for)
    finally:
        for bar in open_bars:
            bar.close()
    entity = f"; per {key}: {', '.join(model.entity_columns)}" if model.entity_columns else ""
    say(f"learned {model.sequences:,} sequences{entity}")
    for note in model.notes:
        say(f"note: {note}")
    return model


def write_sequences(
    model: SequenceModel,
    output: str,
    sequences: int | None,
    seed: int,
    table: str,
    overwrite: bool,
    console: Console,
    say: Say,
    *,
    quiet: bool,
) -> tuple[str, int]:
    """Write the sequences, all or nothing; return the output's name and the rows written."""
    from synthdb.cli.progress import row_progress
    from synthdb.io.sinks import open_sink

    count = model.sequences if sequences is None else sequences
    if count < 1:
        raise UsageError(f"--sequences must be at least 1 (got {count})")
    sink = open_sink(output, table=table, overwrite=overwrite)
    say(f"generating {count:,} sequences to {sink.location}")
    chunks = model.iter_sequences(count, seed=seed)
    written = 0
    with row_progress(console, "generating", count, shown=not quiet) as advance:

        def counted() -> Iterator[pd.DataFrame]:
            nonlocal written
            for chunk in chunks:
                written += len(chunk)
                yield sink.prepare(chunk)
                advance(int(chunk[model.sequence_key].nunique()))

        sink.write_batches(table, counted())
    say(f"wrote {count:,} sequences, {written:,} rows, to {sink.location}")
    return sink.location, written
