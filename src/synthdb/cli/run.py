"""``synthdb run``: a thin face over :func:`synthdb.pipeline.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthdb.cli._session import console_listener, errors, out, session
from synthdb.cli.evaluate import show_figures
from synthdb.cli.options import (
    SAMPLE_SEED,
    SAMPLE_SEED_HELP,
    EncodingOpt,
    HoldoutOpt,
    InputArg,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    RowsOpt,
    ScaleOpt,
    SequencesOpt,
    TableOpt,
    TablesOpt,
    TargetOpt,
    TrainingFlags,
    training_flags,
)


@training_flags
def run(
    source: InputArg,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="synthetic rows: CSV/TSV (optionally compressed), Parquet or a database URL "
            "such as sqlite:///file.db.",
            show_default=False,
        ),
    ],
    rows: RowsOpt = None,
    sample_seed: Annotated[
        int, typer.Option("--sample-seed", help=SAMPLE_SEED_HELP, show_default=False)
    ] = SAMPLE_SEED,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="also keep the model file here. Default: none.", show_default=False
        ),
    ] = None,
    holdout: HoldoutOpt = None,
    json_path: JsonOpt = None,
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="also write the quality and privacy report (one HTML page, as 'synthdb report' "
            "makes) here. Default: none.",
            show_default=False,
        ),
    ] = None,
    target: TargetOpt = None,
    table: TableOpt = None,
    tables: TablesOpt = None,
    scale: ScaleOpt = None,
    *,
    flags: TrainingFlags,
    sequences: SequencesOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train, generate and evaluate in one go.

    With --sequence-key, the table's rows are learned and drawn as sequences (see train).

    Ctrl-C during training after the first epoch goes on with the best epoch so far.
    """
    with errors("run", quiet), console_listener() as listener:
        config = flags.config(source, listener)
        from synthdb import pipeline

        done = pipeline.run(
            source,
            output,
            config,
            rows=rows,
            sample_seed=sample_seed,
            model_path=model,
            holdout=holdout,
            json_path=json_path,
            report_path=report_path,
            target=target,
            table=table,
            tables=tables,
            scale=scale,
            job=flags.job,
            sequence_key=flags.sequence_key,
            order_by=flags.order_by,
            sequences=sequences,
            encoding=encoding,
            overwrite=overwrite,
            listener=listener,
        )
        if session.quiet:
            return
        if done.kind != "database":
            show_figures(done.figures, privacy=report_path is not None or target is not None)
            return
        from synthdb.cli.tables import (
            relations_table,
            rules_table,
            sequences_table,
            summary_table,
        )

        figures = done.figures
        accuracy = {t["table"]: t["overall"] for t in figures["tables"]}
        out.print(summary_table(done.source_rows, done.synthetic_rows, accuracy))
        out.print(relations_table(figures["relations"]))
        if figures["sequences"]:
            out.print(sequences_table(figures["sequences"]))
        if figures["rules"]:
            out.print(rules_table(figures["rules"]))
