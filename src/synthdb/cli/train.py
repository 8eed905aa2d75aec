"""``synthdb train``: a thin face over :func:`synthdb.pipeline.train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdb.cli._session import console_listener, errors
from synthdb.cli.options import (
    EncodingOpt,
    InputArg,
    OverwriteOpt,
    QuietOpt,
    RayTrainOpt,
    TableOpt,
    TablesOpt,
    TrainingFlags,
    WorkersOpt,
    training_flags,
)


@training_flags
def train(
    source: InputArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="model file to write, such as adult.synthdb.",
            show_default=False,
        ),
    ],
    table: TableOpt = None,
    tables: TablesOpt = None,
    *,
    flags: TrainingFlags,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    ray: RayTrainOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Train a model on a table, or a set of related models on a database, and save it to
    one file.

    With --sequence-key, the table's rows are sequences, one per key value (a plane's
    flights), each learned in order (--order-by) given the ones before it.

    A database URL with several tables, a folder of CSV/Parquet files or a job file with a
    'tables' section trains one model per table, children under their parent rows.

    Ctrl-C after the first epoch stops training and saves the best epoch so far (stop reason
    "interrupted"); before that, or while saving, nothing is written. With --ray, the
    training loop runs on the cluster's workers and Ctrl-C stops it with nothing written.
    """
    with errors("train", quiet), console_listener() as listener:
        config = flags.config(source, listener)
        from synthdb import pipeline

        pipeline.train(
            source,
            output,
            config,
            table=table,
            tables=tables,
            job=flags.job,
            sequence_key=flags.sequence_key,
            order_by=flags.order_by,
            encoding=encoding,
            overwrite=overwrite,
            listener=listener,
            ray=ray,
            workers=workers,
        )
