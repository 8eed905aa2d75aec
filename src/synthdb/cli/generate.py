"""``synthdb generate``: a thin face over :func:`synthdb.pipeline.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdb.cli._session import console_listener, errors, out, session
from synthdb.cli.options import (
    SAMPLE_SEED,
    SAMPLE_SEED_HELP,
    OverwriteOpt,
    QuietOpt,
    RayOpt,
    RowsOpt,
    ScaleOpt,
    SequencesOpt,
    WorkersOpt,
)


def generate(
    model: Annotated[
        Path, typer.Argument(help="model file written by 'synthdb train'", show_default=False)
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="where to write: CSV/TSV (optionally compressed), Parquet or a database URL "
            "such as sqlite:///file.db.",
            show_default=False,
        ),
    ],
    rows: RowsOpt = None,
    seed: Annotated[
        int, typer.Option("--seed", help=SAMPLE_SEED_HELP, show_default=False)
    ] = SAMPLE_SEED,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="table to write when the output is a database. Default: the model's table name.",
            show_default=False,
        ),
    ] = None,
    scale: ScaleOpt = None,
    sequences: SequencesOpt = None,
    overwrite: OverwriteOpt = False,
    ray: RayOpt = None,
    workers: WorkersOpt = None,
    given: Annotated[
        Path | None,
        typer.Option(
            "--given",
            help="CSV or Parquet file of any of the model's columns: one output row per given "
            "row, its values kept exactly (NULL included), the other columns drawn from the "
            "model given them. A column, category or number the model does not know is "
            "refused. For a database's model: rows of the root table the file is named after "
            "(customers.csv), generated with their children. Default: off.",
            show_default=False,
        ),
    ] = None,
    rebalance: Annotated[
        list[str] | None,
        typer.Option(
            "--rebalance",
            help="COLUMN=VALUE:SHARE (repeatable): that category on that share of the rows "
            "(shares of a column add up to 1 at most), the rest of each row following the "
            'model. Example: --rebalance "income=>50K:0.5". Default: off.',
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Generate synthetic rows from a model file; from a database's model, a whole synthetic
    database (to a database URL or a folder) with every key intact; from a model of
    sequences (--sequence-key), new sequences, each in order. With --ray, the rows (of a
    table, a database, sequences) are drawn on a Ray cluster: the same output. With --given
    FILE, rows that keep the file's values (test data for one case); with --rebalance, a
    chosen mix of a category."""
    with errors("generate", quiet), console_listener() as listener:
        from synthdb import pipeline

        written = pipeline.generate(
            model,
            output,
            rows=rows,
            scale=scale,
            sequences=sequences,
            seed=seed,
            table=table,
            overwrite=overwrite,
            listener=listener,
            ray=ray,
            workers=workers,
            given=given,
            rebalance=rebalance or None,
        )
        if written.kind == "database" and not session.quiet:
            from synthdb.cli.tables import summary_table

            out.print(summary_table(None, written.tables))
