"""``synthdb impute``: a thin face over :func:`synthdb.pipeline.impute`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdb.cli._session import console_listener, errors
from synthdb.cli.options import SAMPLE_SEED, SAMPLE_SEED_HELP, OverwriteOpt, QuietOpt


def impute(
    model: Annotated[
        Path, typer.Argument(help="model file written by 'synthdb train'", show_default=False)
    ],
    data: Annotated[
        str,
        typer.Argument(
            help="real rows with NULLs to fill: CSV/Parquet or a database URL (with --table)",
            show_default=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="where to write the filled rows: CSV/TSV, Parquet or a database URL.",
            show_default=False,
        ),
    ],
    seed: Annotated[
        int, typer.Option("--seed", help=SAMPLE_SEED_HELP, show_default=False)
    ] = SAMPLE_SEED,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="table to read (and write) when DATA is a database. Default: the model's "
            "table name for the output.",
            show_default=False,
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fill each NULL of a real table with a draw from the model given the row's other
    values; the rows, their order and every non-NULL value are kept. A value the model never
    saw is kept and conditions nothing; a number outside its range conditions as the nearest
    value it learned."""
    with errors("impute", quiet), console_listener() as listener:
        from synthdb import pipeline

        pipeline.impute(
            model,
            data,
            output,
            seed=seed,
            table=table,
            overwrite=overwrite,
            listener=listener,
        )
