"""``synthdb evaluate`` and ``synthdb report``: thin faces over
:func:`synthdb.pipeline.evaluate` and :func:`synthdb.pipeline.report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthdb.cli._session import console_listener, errors, out
from synthdb.cli.options import (
    EncodingOpt,
    HoldoutOpt,
    JsonOpt,
    OrderByOpt,
    OverwriteOpt,
    QuietOpt,
    SequenceKeyOpt,
    TargetOpt,
)


def evaluate(
    real: Annotated[
        str, typer.Argument(help="the real table (the model's training data)", show_default=False)
    ],
    synthetic: Annotated[str, typer.Argument(help="the synthetic table", show_default=False)],
    holdout: HoldoutOpt = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="table to read from each input that is a database. Default: its only table.",
            show_default=False,
        ),
    ] = None,
    target: TargetOpt = None,
    sequence_key: SequenceKeyOpt = None,
    order_by: OrderByOpt = None,
    json_path: JsonOpt = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Accuracy of synthetic data against real data: 1 - total variation distance of binned
    columns, pairs and triples (DESIGN.md section 5); privacy risk (DCR share with --holdout,
    exact matches, nearest-neighbour distance ratio); ML utility with --target. The JSON holds
    the same figures as the page of 'synthdb report'."""
    with errors("evaluate", quiet), console_listener() as listener:
        from synthdb import pipeline

        scored = pipeline.evaluate(
            real,
            synthetic,
            holdout,
            table=table,
            target=target,
            sequence_key=sequence_key,
            order_by=order_by,
            json_path=json_path,
            overwrite=overwrite,
            listener=listener,
        )
        if not quiet:
            show_figures(scored.figures, privacy=True)


def report(
    real: Annotated[
        str, typer.Argument(help="the real table (the model's training data)", show_default=False)
    ],
    synthetic: Annotated[str, typer.Argument(help="the synthetic table", show_default=False)],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="HTML page to write, such as report.html.", show_default=False
        ),
    ],
    holdout: HoldoutOpt = None,
    target: TargetOpt = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="model file that made the synthetic rows: adds its training parameters, stop "
            "reason, training curve, NULL policy and epsilon ledger. Default: none.",
            show_default=False,
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="table to read from each input that is a database. Default: its only table.",
            show_default=False,
        ),
    ] = None,
    tables: Annotated[
        str | None,
        typer.Option(
            "--tables",
            help="for whole databases: the tables to compare, comma-separated (with every "
            "table they reference). Default: all.",
            show_default=False,
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="also write every figure of the page to this JSON file. Default: none.",
            show_default=False,
        ),
    ] = None,
    sequence_key: SequenceKeyOpt = None,
    order_by: OrderByOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """One self-contained HTML page on the quality and privacy of synthetic data: accuracy
    with its holdout ceiling, privacy risk, ML utility, per-column pictures, correlations, and
    the model's training with --model. Opens offline; tables beyond 10,000 rows are sampled
    for the distance measures, and the page says so.

    REAL and SYNTHETIC may be whole databases (a URL with several tables, a folder of
    CSV/Parquet files, or a job file for REAL): the page then has a section per table and the
    children per parent row of every relationship."""
    with errors("report", quiet), console_listener() as listener:
        from synthdb import pipeline

        pipeline.report(
            real,
            synthetic,
            output,
            holdout=holdout,
            target=target,
            model_path=model,
            table=table,
            tables=tables,
            json_path=json_path,
            sequence_key=sequence_key,
            order_by=order_by,
            encoding=encoding,
            overwrite=overwrite,
            listener=listener,
        )


def show_figures(figures: dict[str, Any], *, privacy: bool) -> None:
    """A table's figures in the terminal: accuracy, privacy if measured in full, the rules,
    and the sequences' coherence when the rows were scored as sequences."""
    from synthdb.cli.tables import accuracy_table, privacy_table, rules_table, sequences_table

    out.print(accuracy_table(figures))
    if privacy:
        out.print(privacy_table(figures))
    if figures["rules"]:
        out.print(rules_table(figures["rules"]))
    if figures.get("sequences"):
        out.print(sequences_table(figures["sequences"]))
