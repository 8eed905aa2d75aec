"""The ``synthdb`` command: train, generate, evaluate, run, inspect.

A thin face over the library: it parses flags, shows progress and prints one-line errors.
Exit codes: 0 success, 1 bad data or failure, 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from synthdb import __version__
from synthdb.config import TrainingConfig, make_config
from synthdb.errors import SynthdbError, UsageError
from synthdb.jobfile import load_job_file
from synthdb.training.loop import QuietListener, TrainingListener

app = typer.Typer(
    name="synthdb",
    help="Synthetic twins of tables: train a model on real data, generate look-alike rows, "
    "and measure how close they are.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


class PurposeChoice(str, Enum):
    testing = "testing"
    analytics = "analytics"
    ml = "ml"


class NullsChoice(str, Enum):
    replace = "replace"
    drop = "drop"
    keep = "keep"


_state: dict[str, bool] = {"debug": bool(os.environ.get("SYNTHDB_DEBUG"))}

# ---------------------------------------------------------------- shared options
InputArg = Annotated[
    str, typer.Argument(help="CSV (.csv, .csv.gz), Parquet (.parquet) or sqlite:///file.db")
]
TableOpt = Annotated[
    str | None, typer.Option("--table", help="table to read when the input is a database")
]
PurposeOpt = Annotated[
    PurposeChoice | None,
    typer.Option(
        "--purpose",
        help="preset: testing = 15 max epochs + nulls replace (brief: 10-20); analytics = 35 + "
        "drop (20-50); ml = 75 + drop (50-100). Default: analytics. Explicit flags win.",
    ),
]
MaxEpochsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-epochs",
        help="upper bound on epochs, 1-100000; training stops earlier when validation "
        "accuracy stops improving. Default: from --purpose.",
    ),
]
NullsOpt = Annotated[
    NullsChoice | None,
    typer.Option(
        "--nulls",
        help="replace: numbers -> mean (rounded for integers), dates -> mean instant, "
        "categories/booleans -> most frequent value; drop: remove rows with any NULL; keep: "
        "model NULL as a value. Default: from --purpose.",
    ),
]
PatienceOpt = Annotated[
    int | None,
    typer.Option("--patience", help="epochs without improvement before stopping, 1-1000. Default: 4."),
]
MinDeltaOpt = Annotated[
    float | None,
    typer.Option("--min-delta", help="accuracy gain that counts as improvement, 0-1. Default: 0.0005."),
]
MaxTimeOpt = Annotated[
    float | None,
    typer.Option("--max-time", help="stop training after this many seconds (> 0), keeping the best model. Default: none."),
]
BatchOpt = Annotated[
    int | None,
    typer.Option("--batch-size", help="rows per gradient step, >= 1. Default: about rows/64, 32-1024."),
]
LrOpt = Annotated[
    float | None,
    typer.Option("--learning-rate", help="AdamW step size, 0-1. Default: 0.003."),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="training seed, >= 0 (same data + seed = same model). Default: 0.")
]
JobOpt = Annotated[
    Path | None,
    typer.Option("--job", help="YAML or TOML job file with the same keys as these flags, plus per-column overrides"),
]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="text encoding of CSV input. Default: utf-8.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="replace an existing output")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="print nothing but errors")]
RowsOpt = Annotated[
    int | None,
    typer.Option("--rows", "-n", help="rows to generate, >= 1. Default: as many as the training data had."),
]
SampleSeedOpt = Annotated[
    int, typer.Option("--seed", help="generation seed: the same seed gives byte-identical output. Default: 0.")
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")] = False,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    if debug:
        _state["debug"] = True
    if version:
        out.print(f"synthdb {__version__}")
        raise typer.Exit(0)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn every failure into one line on stderr and the documented exit code."""
    try:
        yield
    except SynthdbError as exc:
        err.print(f"error: {exc}", markup=False)
        if _state["debug"]:
            traceback.print_exc()
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written", markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug: say so, but keep it to one line unless --debug
        if _state["debug"]:
            traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else ""
        err.print(
            f"error: unexpected {type(exc).__name__}: {message} (rerun with --debug and report it)",
            markup=False,
        )
        raise typer.Exit(1) from None


def _config(job: Path | None, **flags: Any) -> tuple[TrainingConfig, dict[str, Any]]:
    """Job file values, overridden by the flags actually given, validated once."""
    values = load_job_file(job) if job else {}
    extras = {k: values.pop(k) for k in list(values) if k in ("input", "output", "table", "rows", "encoding", "holdout", "sample_seed")}
    for key, value in flags.items():
        if value is not None:
            values[key] = value.value if isinstance(value, Enum) else value
    return make_config(**values), extras


def _listener(quiet: bool) -> TrainingListener:
    if quiet:
        return QuietListener()
    from synthdb.cli.progress import EpochProgress

    return EpochProgress(err)


def _train(
    source: str, table: str | None, encoding: str, config: TrainingConfig, quiet: bool
) -> Any:
    from synthdb.io.sources import read_table
    from synthdb.synthesizer import Synthesizer

    frame = read_table(source, table, encoding=encoding)
    if not quiet:
        err.print(
            f"training on {source}: {len(frame):,} rows x {frame.shape[1]} columns, purpose "
            f"{config.purpose}, max {config.max_epochs} epochs, nulls {config.nulls}"
        )
    name = table or Path(source.split("?")[0]).name.split(".")[0]
    synthesizer = Synthesizer(config).fit(frame, table=name, listener=_listener(quiet))
    if not quiet:
        _print_nulls(synthesizer.null_report.to_dict())
    return synthesizer


def _print_nulls(report: dict[str, Any]) -> None:
    policy = report["policy"]
    if policy == "drop":
        err.print(f"nulls drop: removed {report['rows_dropped']:,} of {report['rows_before']:,} rows")
    elif policy == "replace":
        cells = report["cells_replaced"]
        if cells:
            detail = ", ".join(f"{c} {n:,} (-> {report['replaced_with'][c]})" for c, n in cells.items())
            err.print(f"nulls replace: {detail}", markup=False)
        else:
            err.print("nulls replace: no NULL cells")
    for warning in report.get("warnings", []):
        err.print(f"warning: {warning}", markup=False)


def _generate(synthesizer: Any, output: str, rows: int, seed: int, table: str | None, overwrite: bool, quiet: bool) -> None:
    from synthdb.cli.progress import row_progress
    from synthdb.io.sinks import write_batches

    if rows < 1:
        raise UsageError(f"--rows must be at least 1 (got {rows})")
    batches = synthesizer.iter_samples(rows, seed=seed)
    name = table or synthesizer.schema.name
    if quiet:
        write_batches(batches, output, table=name, overwrite=overwrite)
        return
    with row_progress(err, "generating") as progress:
        task = progress.add_task("rows", total=rows)

        def counted() -> Iterator[Any]:
            for batch in batches:
                yield batch
                progress.advance(task, len(batch))

        write_batches(counted(), output, table=name, overwrite=overwrite)
    err.print(f"wrote {rows:,} rows to {output}")


def _check_output(output: str, table: str | None, overwrite: bool) -> None:
    from synthdb.io.sinks import check_output

    check_output(output, table=table, overwrite=overwrite)


# ---------------------------------------------------------------- commands
@app.command()
def train(
    source: InputArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="model file to write (.synthdb)")],
    table: TableOpt = None,
    purpose: PurposeOpt = None,
    max_epochs: MaxEpochsOpt = None,
    nulls: NullsOpt = None,
    patience: PatienceOpt = None,
    min_delta: MinDeltaOpt = None,
    max_time: MaxTimeOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    job: JobOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a model on a table and save it to one file."""
    with _errors():
        config, _ = _config(
            job, purpose=purpose, max_epochs=max_epochs, nulls=nulls, patience=patience,
            min_delta=min_delta, max_time=max_time, batch_size=batch_size,
            learning_rate=learning_rate, seed=seed,
        )
        _check_output(str(output), None, overwrite)
        synthesizer = _train(source, table, encoding, config, quiet)
        synthesizer.save(output, overwrite=overwrite)
        if not quiet:
            err.print(f"saved model to {output}")


@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="model file written by 'synthdb train'")],
    output: Annotated[str, typer.Option("--output", "-o", help="CSV, Parquet or sqlite:///file.db")],
    rows: RowsOpt = None,
    seed: SampleSeedOpt = 0,
    table: Annotated[str | None, typer.Option("--table", help="table name when writing to a database")] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate synthetic rows from a model file."""
    from synthdb.synthesizer import Synthesizer

    with _errors():
        if rows is not None and rows < 1:
            raise UsageError(f"--rows must be at least 1 (got {rows})")
        synthesizer = Synthesizer.load(model)
        _check_output(output, table or synthesizer.schema.name, overwrite)
        count = rows if rows is not None else synthesizer.null_report.rows_before
        _generate(synthesizer, output, count, seed, table, overwrite, quiet)


@app.command()
def evaluate(
    real: Annotated[str, typer.Argument(help="the real table (the model's training data)")],
    synthetic: Annotated[str, typer.Argument(help="the synthetic table")],
    holdout: Annotated[str | None, typer.Option("--holdout", help="real rows NOT used for training: gives the accuracy ceiling")] = None,
    table: TableOpt = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write every figure to this JSON file")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Accuracy of synthetic data against real data (DESIGN.md section 5)."""
    from synthdb.scoring import evaluate as score

    with _errors():
        report = score(real, synthetic, holdout, table=table)
        if json_path is not None:
            _write_json(json_path, report.to_dict())
        if not quiet:
            _print_accuracy(report.to_dict())


@app.command()
def run(
    source: InputArg,
    output: Annotated[str, typer.Option("--output", "-o", help="synthetic output: CSV, Parquet or sqlite:///file.db")],
    rows: RowsOpt = None,
    sample_seed: Annotated[int, typer.Option("--sample-seed", help="generation seed. Default: 0.")] = 0,
    model: Annotated[Path | None, typer.Option("--model", help="also keep the model file here")] = None,
    holdout: Annotated[str | None, typer.Option("--holdout", help="real rows not used for training: the accuracy ceiling")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the accuracy figures to this JSON file")] = None,
    table: TableOpt = None,
    purpose: PurposeOpt = None,
    max_epochs: MaxEpochsOpt = None,
    nulls: NullsOpt = None,
    patience: PatienceOpt = None,
    min_delta: MinDeltaOpt = None,
    max_time: MaxTimeOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    job: JobOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train, generate and evaluate in one go."""
    from synthdb.scoring import evaluate as score

    with _errors():
        config, _ = _config(
            job, purpose=purpose, max_epochs=max_epochs, nulls=nulls, patience=patience,
            min_delta=min_delta, max_time=max_time, batch_size=batch_size,
            learning_rate=learning_rate, seed=seed,
        )
        if rows is not None and rows < 1:
            raise UsageError(f"--rows must be at least 1 (got {rows})")
        _check_output(output, table, overwrite)
        if model is not None:
            _check_output(str(model), None, overwrite)
        synthesizer = _train(source, table, encoding, config, quiet)
        if model is not None:
            synthesizer.save(model, overwrite=overwrite)
        count = rows if rows is not None else synthesizer.null_report.rows_before
        _generate(synthesizer, output, count, sample_seed, table, overwrite, quiet)
        report = score(source, output, holdout, table=table)
        if json_path is not None:
            _write_json(json_path, report.to_dict())
        if not quiet:
            _print_accuracy(report.to_dict())


@app.command()
def inspect(
    path: Annotated[str, typer.Argument(help="a data file / sqlite:/// URL, or a .synthdb model file")],
    table: TableOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Print the inferred schema of a table, or the summary of a model file."""
    from synthdb.schema.inference import infer_schema
    from synthdb.schema.table import TableSchema

    with _errors():
        if path.endswith(".synthdb"):
            from synthdb.modelfile import read_manifest

            manifest = read_manifest(Path(path))
            schema = TableSchema.from_dict(manifest["schema"])
            training = manifest["training"]
            out.print(
                f"model {path}: format {manifest['format_version']}, synthdb "
                f"{manifest['versions']['synthdb']}, stop reason {manifest['stop_reason']}, "
                f"{len(training['epochs'])} epochs, best epoch {training['best_epoch']} "
                f"(validation accuracy {training['best_accuracy']:.4f})"
            )
        else:
            from synthdb.io.sources import read_table

            frame = read_table(path, table, encoding=encoding)
            schema = infer_schema(frame, table or Path(path).name.split(".")[0])
        _print_schema(schema)


def _print_schema(schema: Any) -> None:
    grid = Table(title=f"{schema.name}: {schema.rows:,} rows", title_justify="left")
    for header in ("column", "kind", "details", "distinct", "nulls"):
        grid.add_column(header)
    for column in schema.columns:
        details = []
        if column.kind == "numeric":
            details.append("integer" if column.integer else f"decimal ({column.decimals} places)" if column.decimals is not None else "decimal")
            if column.minimum is not None:
                details.append(f"{column.minimum:g} .. {column.maximum:g}")
        elif column.kind == "datetime":
            details.append(column.datetime_format or column.storage)
        elif column.kind == "boolean" and column.boolean_tokens:
            details.append("/".join(column.boolean_tokens))
        elif column.kind == "key":
            details.append(f"{column.key_format}, regenerated unique")
        elif column.kind == "constant":
            details.append(f"always {column.constant!r}")
        grid.add_row(column.name, column.kind, ", ".join(details), f"{column.distinct:,}", f"{column.null_count:,}")
    out.print(grid)


def _print_accuracy(report: dict[str, Any]) -> None:
    holdout = report.get("holdout")
    grid = Table(title="accuracy (1 - total variation distance of binned columns)", title_justify="left")
    grid.add_column("measure")
    grid.add_column("synthetic", justify="right")
    if holdout:
        grid.add_column("holdout ceiling", justify="right")
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        if report.get(key) is None:
            continue
        row = [key, f"{report[key]:.4f}"]
        if holdout:
            row.append(f"{holdout[key]:.4f}" if holdout.get(key) is not None else "")
        grid.add_row(*row)
    out.print(grid)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from synthdb.io.sinks import atomic_path

    if not path.parent.exists():
        raise UsageError(f"folder {path.parent} does not exist", hint="create it first")
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside any command body
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

