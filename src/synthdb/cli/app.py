"""The ``synthdb`` command: train, generate, evaluate, run, inspect.

A thin face over the library: it parses flags, shows progress and prints one-line errors.
Exit codes: 0 success, 1 bad data or failure, 2 bad usage, 130 interrupted (Ctrl-C).

PyTorch is imported only by the commands that need a model, so ``--help`` and the checks of
paths and flags answer at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from synthdb import __version__
from synthdb.cli.options import (
    SAMPLE_SEED_HELP,
    BatchOpt,
    ClipOpt,
    DeltaOpt,
    EncodingOpt,
    EpsilonOpt,
    HoldoutOpt,
    InputArg,
    JobOpt,
    JsonOpt,
    LrOpt,
    MaxEpochsOpt,
    MaxTimeOpt,
    MicrobatchesOpt,
    MinDeltaOpt,
    NoiseOpt,
    NullsOpt,
    OrderByOpt,
    OverwriteOpt,
    PatienceOpt,
    PrivacyOpt,
    PurposeOpt,
    QuietOpt,
    RowsOpt,
    ScaleOpt,
    SeedOpt,
    SequenceKeyOpt,
    SequencesOpt,
    TableOpt,
    TablesOpt,
    TargetOpt,
)
from synthdb.cli.serve import serve
from synthdb.cli.study import study_app
from synthdb.errors import ModelFileError, SynthdbError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel
    from synthdb.relational.sequence_table import SequenceModel
    from synthdb.report import DatabaseReport, Report
    from synthdb.synthesizer import Synthesizer

app = typer.Typer(
    name="synthdb",
    help="Synthetic twins of tables: train a model on real data, generate look-alike rows, "
    "and measure how close they are. Exit codes: 0 success, 1 bad data or failure, "
    "2 bad usage, 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(study_app, name="study")
app.command("serve")(serve)
# Messages are printed with soft_wrap: rich must not cut a one-line error into several lines.
err = Console(stderr=True, highlight=False, emoji=False)
out = Console(highlight=False, emoji=False, soft_wrap=True)


@dataclass
class _Session:
    debug: bool = bool(os.environ.get("SYNTHDB_DEBUG"))
    quiet: bool = False
    #: outputs completed so far, so an interrupted ``run`` can say which of them are whole
    written: list[str] = field(default_factory=list)


_session = _Session()


def _say(text: str) -> None:
    """A status line on stderr, unless --quiet (stdout stays for results)."""
    if not _session.quiet:
        err.print(text, markup=False, soft_wrap=True)


def _fail(text: str) -> None:
    err.print(text, markup=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"synthdb {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="show the traceback behind an error; may also follow the command, or set "
            "SYNTHDB_DEBUG=1. Default: off.",
            show_default=False,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="print the version and exit",
            callback=_print_version,
            is_eager=True,  # answered before the missing command is noticed
            show_default=False,
        ),
    ] = False,
) -> None:
    if debug:
        _session.debug = True


@contextmanager
def _errors(command: str, quiet: bool = False) -> Iterator[None]:
    """Turn every failure into one line on stderr and the documented exit code."""
    _session.quiet = quiet
    _session.written.clear()
    try:
        yield
    except SynthdbError as exc:
        _traceback()
        message = str(exc)
        if isinstance(exc, UsageError) and exc.hint is None:
            message += f" (see 'synthdb {command} --help')"
        _fail(f"error: {message}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _traceback()
        kept = ", ".join(_session.written)
        done = (
            f"{kept} was complete and is kept; nothing else was written"
            if kept
            else "nothing was written"
        )
        _fail(f"interrupted (Ctrl-C): {done}")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, BrokenPipeError):  # typer quiets a closed pipe (| head)
        raise
    except MemoryError:
        _traceback()
        _fail(
            "error: out of memory (ask for fewer --rows, a smaller --batch-size, or use a "
            "machine with more memory)"
        )
        raise typer.Exit(1) from None
    except Exception as exc:  # a bug: say so, but keep it to one line unless --debug
        _traceback()
        lines = str(exc).strip().splitlines()
        detail = f": {lines[0]}" if lines else ""
        _fail(
            f"error: unexpected {type(exc).__name__}{detail} "
            "(a bug in synthdb: rerun with --debug and report the traceback)"
        )
        raise typer.Exit(1) from None


def _traceback() -> None:
    if _session.debug:
        traceback.print_exc()


def _config(job: Path | None, source: str | None = None, **flags: Any) -> TrainingConfig:
    """Job file values, overridden by the flags actually given, validated once.

    A job file given as the input (``synthdb run job.yaml``) is a job file too: its top-level
    settings (purpose, max-epochs, nulls, ...) apply as they would with ``--job``, which, if
    given as well, is read after it; explicit flags win over both.
    """
    from synthdb.cli.databases import is_job_file
    from synthdb.config import make_config
    from synthdb.jobfile import RUN_KEYS, SEQUENCE_KEYS, load_job_file

    # Inputs, outputs and sampling settings come from the command line only, for now; but a
    # ``tables`` section describes a database's tables, and a job file given as the input
    # names its data with ``input``: those are read where the database is opened.
    files: list[tuple[Path, set[str]]] = []
    if source is not None and is_job_file(source):
        files.append((Path(source), {"input", "tables"}))
    if job is not None:
        files.append((job, {"tables"}))
    values: dict[str, Any] = {}
    for path, used in files:
        settings = load_job_file(path)
        for key in SEQUENCE_KEYS:  # how the rows form sequences: read by sequence_options
            settings.pop(key, None)
        ignored = sorted(
            key for key in RUN_KEYS if settings.pop(key, None) is not None and key not in used
        )
        if ignored:
            _say(f"warning: {path}: {', '.join(ignored)} ignored; give them on the command line")
        values.update(settings)
    values.update({key: value for key, value in flags.items() if value is not None})
    return make_config(**values)


def _check_single_table_job(job: Path | None) -> None:
    """A ``tables`` section means nothing for one table: say so rather than drop it silently."""
    if job is not None:
        from synthdb.jobfile import load_job_file

        if load_job_file(job).get("tables") is not None:
            _say(f"warning: {job}: tables ignored; the input is one table")


def _noise_multiplier(value: str | None) -> float | str | None:
    """``auto`` or a number; anything else is a usage error naming the flag."""
    if value is None or value.strip().lower() == "auto":
        return None if value is None else "auto"
    try:
        return float(value)
    except ValueError:
        raise UsageError(
            f"--noise-multiplier must be a number > 0 or auto (got {value!r})"
        ) from None


def _check_sampling(rows: int | None, seed: int, seed_flag: str) -> None:
    if rows is not None and rows < 1:
        raise UsageError(
            f"--rows must be at least 1 (got {rows})",
            hint="pass --rows 1 or more, or leave it out to match the training data",
        )
    if seed < 0:
        raise UsageError(
            f"{seed_flag} must be at least 0 (got {seed})", hint=f"pass {seed_flag} 0 or more"
        )


def _check_output(location: str, table: str | None, overwrite: bool) -> None:
    from synthdb.io.sinks import check_output

    check_output(location, table=table, overwrite=overwrite)


def _open_input(source: str, table: str | None, encoding: str) -> tuple[str, str]:
    """Check that the input exists; return its name fit for messages and its table's name."""
    from synthdb.io.sources import open_source

    opened = open_source(source, table=table, encoding=encoding)
    tables = opened.tables()
    name = table or (tables[0] if len(tables) == 1 else "table")
    return opened.location, name


def _train(
    source: str,
    shown: str,
    table: str | None,
    name: str,
    encoding: str,
    config: TrainingConfig,
) -> tuple[Synthesizer, pd.DataFrame]:
    from synthdb.io.sources import read_table

    frame = read_table(source, table, encoding=encoding)
    # Said once the data is ready to learn, so that a problem found while preparing it (say, a
    # NULL policy that drops every row) is the only line printed.
    header = (
        f"training on {shown}: {len(frame):,} rows x {frame.shape[1]} columns, purpose "
        f"{config.purpose}, max {config.max_epochs} epochs, nulls {config.nulls}"
    )
    from synthdb.synthesizer import Synthesizer

    if _session.quiet:
        from synthdb.training.loop import QuietListener

        synthesizer = Synthesizer(config).fit(frame, table=name, listener=QuietListener())
    else:
        from synthdb.cli.progress import EpochProgress

        progress = EpochProgress(err, header=header)
        try:
            synthesizer = Synthesizer(config).fit(frame, table=name, listener=progress)
        finally:
            progress.close()
        if not progress.started:  # nothing to learn (one row, constants): no epoch ran
            _say(header)
        _print_nulls(synthesizer.null_report.to_dict())
    return synthesizer, frame


def _train_sequences(
    source: str,
    shown: str,
    table: str | None,
    name: str,
    encoding: str,
    config: TrainingConfig,
    sequenced: tuple[str, list[str]],
) -> tuple[SequenceModel, pd.DataFrame]:
    from synthdb.cli.sequences import train_sequences
    from synthdb.io.sources import read_table

    frame = read_table(source, table, encoding=encoding)
    key, order = sequenced
    model = train_sequences(frame, shown, name, config, key, order, err, _say, quiet=_session.quiet)
    return model, frame


def _print_nulls(report: dict[str, Any]) -> None:
    policy = report["policy"]
    if policy == "drop" and report.get("estimated"):  # exact counts are not kept under DP
        _say(f"nulls drop: rows with a NULL removed, about {report['rows_after']:,} left")
    elif policy == "drop":
        _say(f"nulls drop: removed {report['rows_dropped']:,} of {report['rows_before']:,} rows")
    elif policy == "replace":
        cells = report["cells_replaced"]
        if cells:
            detail = ", ".join(
                f"{c} {n:,} (-> {report['replaced_with'][c]})" for c, n in cells.items()
            )
            _say(f"nulls replace: {detail}")
        else:
            _say("nulls replace: nothing to replace")
    for warning in report.get("warnings", []):
        _say(f"warning: {warning}")


def _save(synthesizer: Synthesizer, path: Path, overwrite: bool) -> None:
    synthesizer.save(path, overwrite=overwrite)
    _session.written.append(str(path))
    _say(f"saved model to {path}")


def _generate(
    synthesizer: Synthesizer,
    output: str,
    rows: int,
    seed: int,
    table: str,
    overwrite: bool,
) -> str:
    """Write ``rows`` synthetic rows, all or nothing; return the output's name for messages."""
    from synthdb.cli.progress import row_progress
    from synthdb.io.sinks import open_sink

    sink = open_sink(output, table=table, overwrite=overwrite)
    _say(f"generating {rows:,} rows to {sink.location}")
    batches = synthesizer.iter_samples(rows, seed=seed, finish=sink.prepare)
    with row_progress(err, "generating", rows, shown=not _session.quiet) as advance:

        def counted() -> Iterator[pd.DataFrame]:
            for batch in batches:
                yield batch
                advance(len(batch))

        sink.write_batches(table, counted())
    _session.written.append(sink.location)
    _say(f"wrote {rows:,} rows to {sink.location}")
    return sink.location


def _generate_database(
    model: Path,
    output: str,
    rows: int | None,
    seed: int,
    scale: float | None,
    table: str | None,
    overwrite: bool,
) -> None:
    from synthdb.cli import databases
    from synthdb.relational.model import DatabaseModel

    if rows is not None or table is not None:
        flag = "--rows" if rows is not None else "--table"
        raise UsageError(
            f"{flag} is for a table's model; this model holds a database",
            hint="pass --scale F to multiply the root tables' rows",
        )
    factor = databases.check_scale(scale)
    twin = DatabaseModel.load(model)
    schema = twin._fitted()
    databases.check_twin_output(output, schema, overwrite)
    synthetic = databases.write_twin(
        twin, output, scale=factor, seed=seed, overwrite=overwrite, say=_say
    )
    _session.written.append(output)
    if not _session.quiet:
        out.print(databases.summary_table(schema, None, synthetic))


def _check_no_sequences(sequences: int | None, why: str, instead: str) -> None:
    if sequences is not None:
        raise UsageError(
            f"--sequences is for a model of sequences (trained with --sequence-key); {why}",
            hint=f"pass {instead}",
        )


def _generate_sequences(
    model: Path,
    output: str,
    rows: int | None,
    scale: float | None,
    sequences: int | None,
    seed: int,
    table: str | None,
    overwrite: bool,
) -> None:
    from synthdb.cli.sequences import write_sequences
    from synthdb.io._locations import is_url
    from synthdb.relational.sequence_table import SequenceModel

    for flag, value in (("--rows", rows), ("--scale", scale)):
        if value is not None:
            raise UsageError(
                f"{flag} is for other models; this one draws whole sequences, each as long as "
                "it learned",
                hint="pass --sequences N",
            )
    if sequences is not None and sequences < 1:
        raise UsageError(f"--sequences must be at least 1 (got {sequences})")
    if not is_url(output) or table is not None:
        _check_output(output, table or "synthetic", overwrite)
    twin = SequenceModel.load(model)
    location, _ = write_sequences(
        twin,
        output,
        sequences,
        seed,
        table or twin.table,
        overwrite,
        err,
        _say,
        quiet=_session.quiet,
    )
    _session.written.append(location)


def _write_json(path: Path, data: dict[str, Any], overwrite: bool) -> None:
    from synthdb.io.sinks import atomic_path

    _check_output(str(path), None, overwrite)
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _session.written.append(str(path))


def _check_report_outputs(page: Path, json_path: Path | None, overwrite: bool) -> None:
    """The report's outputs, checked before any slow step."""
    _check_output(str(page), None, overwrite)
    if json_path is not None:
        if Path(json_path).resolve() == Path(page).resolve():
            raise UsageError("--json and the report page name the same file", hint="use two names")
        _check_output(str(json_path), None, overwrite)


def _check_target(target: str | None, holdout: str | None) -> None:
    if target is not None and holdout is None:
        raise UsageError(
            "--target needs --holdout: ML utility tests models on real rows the model never saw"
        )


def _write_report(
    report: Report | DatabaseReport, page: Path, json_path: Path | None, overwrite: bool
) -> None:
    """The page and its JSON, each written whole under a temporary name, then renamed."""
    from synthdb.io.sinks import atomic_path

    started = time.monotonic()
    html = report.html(progress=_say)
    _check_output(str(page), None, overwrite)  # again: it may have appeared meanwhile
    with atomic_path(page) as temporary:
        temporary.write_text(html, encoding="utf-8")
    _session.written.append(str(page))
    size = len(html.encode("utf-8"))
    _say(
        f"wrote report {page} ({size / 1e6:.1f} MB, pictures drawn in "
        f"{time.monotonic() - started:.1f} s)"
    )
    if json_path is not None:
        _write_json(json_path, report.to_dict(), overwrite)
        _say(f"wrote its figures to {json_path}")


def _run_database(
    source: str,
    output: str,
    tables: str | None,
    job: Path | None,
    encoding: str,
    config: TrainingConfig,
    model: Path | None,
    json_path: Path | None,
    report_path: Path | None,
    scale: float | None,
    seed: int,
    overwrite: bool,
    unsupported: dict[str, Any],
) -> None:
    from synthdb.cli import databases
    from synthdb.evaluation.relations import database_accuracy

    given = [flag for flag, value in unsupported.items() if value is not None]
    if given:
        raise UsageError(
            f"{given[0]} is for a single table; a database run takes --scale, --model, --json, "
            "--report",
        )
    factor = databases.check_scale(scale)
    database, schema, settings = databases.open_input(source, tables, job, encoding)
    # every output is checked before training, which may take hours
    databases.check_twin_output(output, schema, overwrite)
    for path in (model, json_path):
        if path is not None:
            _check_output(str(path), None, overwrite)
    if report_path is not None:
        _check_report_outputs(report_path, json_path, overwrite)
    twin, real = databases.train_database(
        database, schema, config, settings, err, _say, quiet=_session.quiet
    )
    if model is not None:
        twin.save(model, overwrite=overwrite)
        _session.written.append(str(model))
        _say(f"saved model of {len(schema.tables)} tables to {model}")
    synthetic = databases.write_twin(
        twin, output, scale=factor, seed=seed, overwrite=overwrite, say=_say
    )
    _session.written.append(output)
    if report_path is None:
        scores = database_accuracy(schema, real, synthetic, twin.all_rules(), twin.ordered_tables())
    else:
        from synthdb.evaluation.database import assess_database
        from synthdb.report import DatabaseReport
        from synthdb.report.page import database_name

        quality = assess_database(
            schema,
            real,
            synthetic,
            progress=_say,
            rules=twin.all_rules(),
            ordered=twin.ordered_tables(),
        )
        scores = quality.accuracy  # the page's summary and the printed tables agree
        page = DatabaseReport(
            quality=quality,
            database=database_name(database.location),
            sources={
                "real": database.location,
                "synthetic": databases._display(output),
                "model": str(model) if model is not None else None,
            },
            model=_model_summary(twin, model, database=True),
        )
        _write_report(page, report_path, None, overwrite)
    if json_path is not None:
        _write_json(json_path, scores.to_dict(), overwrite)
    if not _session.quiet:
        accuracy = {t.table: t.overall for t in scores.tables}
        out.print(databases.summary_table(schema, real, synthetic, accuracy))
        out.print(databases.relations_table(scores.relations))
        if scores.sequences:
            out.print(databases.sequences_table(scores.sequences))
        if scores.rules:
            from synthdb.cli.tables import rules_table

            out.print(rules_table([r.to_dict() for r in scores.rules]))


def _database_report(
    real: str,
    synthetic: str,
    output: Path,
    model: Path | None,
    tables: str | None,
    json_path: Path | None,
    encoding: str,
    overwrite: bool,
) -> None:
    """``synthdb report`` for two whole databases: the real one opened as ``run`` opens it."""
    from synthdb.cli import databases
    from synthdb.report import build_database_report

    started = time.monotonic()
    source, schema, _ = databases.open_input(real, tables, None, encoding)
    report = build_database_report(
        source,
        synthetic,
        model=model,
        tables=schema.order,
        encoding=encoding,
        progress=_say,
    )
    _write_report(report, output, json_path, overwrite)
    _say(f"report done in {time.monotonic() - started:.1f} s")


# ---------------------------------------------------------------- commands
@app.command()
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
    purpose: PurposeOpt = None,
    max_epochs: MaxEpochsOpt = None,
    nulls: NullsOpt = None,
    patience: PatienceOpt = None,
    min_delta: MinDeltaOpt = None,
    max_time: MaxTimeOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    epsilon: EpsilonOpt = None,
    privacy: PrivacyOpt = None,
    delta: DeltaOpt = None,
    microbatches: MicrobatchesOpt = None,
    clip: ClipOpt = None,
    noise_multiplier: NoiseOpt = None,
    job: JobOpt = None,
    sequence_key: SequenceKeyOpt = None,
    order_by: OrderByOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a model on a table, or a set of related models on a database, and save it to
    one file.

    With --sequence-key, the table's rows are sequences, one per key value (a plane's
    flights), each learned in order (--order-by) given the ones before it.

    A database URL with several tables, a folder of CSV/Parquet files or a job file with a
    'tables' section trains one model per table, children under their parent rows.

    Ctrl-C after the first epoch stops training and saves the best epoch so far (stop reason
    "interrupted"); before that, or while saving, nothing is written.
    """
    with _errors("train", quiet):
        config = _config(
            job,
            source,
            purpose=purpose,
            max_epochs=max_epochs,
            nulls=nulls,
            patience=patience,
            min_delta=min_delta,
            max_time=max_time,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            privacy=privacy,
            epsilon=epsilon,
            delta=delta,
            microbatches=microbatches,
            clip=clip,
            noise_multiplier=_noise_multiplier(noise_multiplier),
        )
        from synthdb.cli import databases, sequences

        if databases.is_database_input(source, table, tables):
            sequences.refuse_for_database(sequence_key, order_by, None)
            database, schema, settings = databases.open_input(source, tables, job, encoding)
            _check_output(str(output), None, overwrite)
            twin, _ = databases.train_database(
                database, schema, config, settings, err, _say, quiet=_session.quiet
            )
            twin.save(output, overwrite=overwrite)
            _session.written.append(str(output))
            _say(f"saved model of {len(schema.tables)} tables to {output}")
            return
        _check_single_table_job(job)
        sequenced = sequences.sequence_options(job, sequence_key, order_by)
        shown, name = _open_input(source, table, encoding)
        _check_output(str(output), None, overwrite)
        if sequenced is not None:
            model, _ = _train_sequences(source, shown, table, name, encoding, config, sequenced)
            model.save(output, overwrite=overwrite)
            _session.written.append(str(output))
            _say(f"saved model of {model.sequences:,} sequences to {output}")
            return
        synthesizer, _ = _train(source, shown, table, name, encoding, config)
        _save(synthesizer, output, overwrite)


@app.command()
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
    seed: Annotated[int, typer.Option("--seed", help=SAMPLE_SEED_HELP, show_default=False)] = 0,
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
    quiet: QuietOpt = False,
) -> None:
    """Generate synthetic rows from a model file; from a database's model, a whole synthetic
    database (to a database URL or a folder) with every key intact; from a model of
    sequences (--sequence-key), new sequences, each in order."""
    with _errors("generate", quiet):
        _check_sampling(rows, seed, "--seed")
        from synthdb.io._locations import is_url

        # Cheap checks first: loading a model means importing PyTorch, which takes seconds.
        if not model.exists():
            raise ModelFileError(f"model file {model} does not exist", hint="check the path")
        from synthdb.modelfile import read_manifest

        kind = read_manifest(model).get("kind")
        if kind == "database":
            _check_no_sequences(sequences, "this model holds a database", "--scale F")
            _generate_database(model, output, rows, seed, scale, table, overwrite)
            return
        if kind == "sequences":
            _generate_sequences(model, output, rows, scale, sequences, seed, table, overwrite)
            return
        _check_no_sequences(sequences, "this model learned rows one by one", "--rows N")
        if scale is not None:
            raise UsageError(
                "--scale is for a database's model; this model holds one table",
                hint="pass --rows N",
            )
        if not is_url(output) or table is not None:
            _check_output(output, table or "synthetic", overwrite)
        from synthdb.synthesizer import Synthesizer

        synthesizer = Synthesizer.load(model)
        count = rows if rows is not None else synthesizer.null_report.rows_before
        _generate(synthesizer, output, count, seed, table or synthesizer.schema.name, overwrite)


@app.command()
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
    with _errors("evaluate", quiet):
        if json_path is not None:
            _check_output(str(json_path), None, overwrite)
        _check_target(target, holdout)
        from synthdb.cli.sequences import sequence_options
        from synthdb.scoring import evaluate as score

        sequenced = sequence_options(None, sequence_key, order_by)
        key, order = sequenced if sequenced is not None else (None, [])
        report = score(
            real,
            synthetic,
            holdout,
            table=table,
            target=target,
            progress=_say,
            sequence_key=key,
            order_by=order,
        )
        figures = report.to_dict()
        if json_path is not None:
            _write_json(json_path, figures, overwrite)
        if not quiet:
            _show_figures(figures, privacy=True)


@app.command("report")
def report_command(
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
    with _errors("report", quiet):
        _check_report_outputs(output, json_path, overwrite)
        if model is not None and not model.exists():
            raise ModelFileError(f"model file {model} does not exist", hint="check the path")
        from synthdb.cli import databases

        if databases.is_database_input(real, table, tables):
            given = [
                flag
                for flag, value in (
                    ("--holdout", holdout),
                    ("--target", target),
                    ("--table", table),
                )
                if value is not None
            ]
            if given:
                raise UsageError(
                    f"{given[0]} is for a single table; a database report takes --model, "
                    "--tables, --json"
                )
            _database_report(real, synthetic, output, model, tables, json_path, encoding, overwrite)
            return
        _check_target(target, holdout)
        from synthdb.cli.sequences import sequence_options
        from synthdb.report import build_report

        sequenced = sequence_options(None, sequence_key, order_by)
        started = time.monotonic()
        report = build_report(
            real,
            synthetic,
            holdout,
            target=target,
            model=model,
            table=table,
            progress=_say,
            sequence_key=sequenced[0] if sequenced else None,
            order_by=sequenced[1] if sequenced else (),
        )
        _write_report(report, output, json_path, overwrite)
        _say(f"report done in {time.monotonic() - started:.1f} s")


@app.command()
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
    ] = 0,
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
    purpose: PurposeOpt = None,
    max_epochs: MaxEpochsOpt = None,
    nulls: NullsOpt = None,
    patience: PatienceOpt = None,
    min_delta: MinDeltaOpt = None,
    max_time: MaxTimeOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    epsilon: EpsilonOpt = None,
    privacy: PrivacyOpt = None,
    delta: DeltaOpt = None,
    microbatches: MicrobatchesOpt = None,
    clip: ClipOpt = None,
    noise_multiplier: NoiseOpt = None,
    job: JobOpt = None,
    sequence_key: SequenceKeyOpt = None,
    order_by: OrderByOpt = None,
    sequences: SequencesOpt = None,
    encoding: EncodingOpt = "utf-8",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train, generate and evaluate in one go.

    With --sequence-key, the table's rows are learned and drawn as sequences (see train).

    Ctrl-C during training after the first epoch goes on with the best epoch so far.
    """
    with _errors("run", quiet):
        config = _config(
            job,
            source,
            purpose=purpose,
            max_epochs=max_epochs,
            nulls=nulls,
            patience=patience,
            min_delta=min_delta,
            max_time=max_time,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            privacy=privacy,
            epsilon=epsilon,
            delta=delta,
            microbatches=microbatches,
            clip=clip,
            noise_multiplier=_noise_multiplier(noise_multiplier),
        )
        _check_sampling(rows, sample_seed, "--sample-seed")
        from synthdb.cli import databases
        from synthdb.cli import sequences as sequence_cli

        if databases.is_database_input(source, table, tables):
            sequence_cli.refuse_for_database(sequence_key, order_by, sequences)
            _run_database(
                source,
                output,
                tables,
                job,
                encoding,
                config,
                model,
                json_path,
                report_path,
                scale,
                sample_seed,
                overwrite,
                unsupported={"--rows": rows, "--holdout": holdout, "--target": target},
            )
            return
        if scale is not None:
            raise UsageError(
                "--scale is for a database; this input is one table", hint="pass --rows N"
            )
        _check_single_table_job(job)
        sequenced = sequence_cli.sequence_options(job, sequence_key, order_by)
        if sequenced is None:
            _check_no_sequences(sequences, "this run learns rows one by one", "--rows N")
        elif rows is not None:
            raise UsageError(
                "--rows is for rows learned one by one; with --sequence-key, whole sequences "
                "are drawn, each as long as the model learned",
                hint="pass --sequences N",
            )
        elif sequences is not None and sequences < 1:
            raise UsageError(f"--sequences must be at least 1 (got {sequences})")
        shown, name = _open_input(source, table, encoding)
        # Every output is checked before training, which may take hours.
        _check_output(output, name, overwrite)
        if model is not None:
            _check_output(str(model), None, overwrite)
        if json_path is not None:
            _check_output(str(json_path), None, overwrite)
        _check_target(target, holdout)
        if report_path is not None:
            _check_report_outputs(report_path, json_path, overwrite)
        if sequenced is not None:
            _run_sequences(
                source,
                shown,
                table,
                name,
                encoding,
                config,
                sequenced,
                output,
                sequences,
                sample_seed,
                model,
                holdout,
                target,
                json_path,
                report_path,
                overwrite,
            )
            return
        synthesizer, frame = _train(source, shown, table, name, encoding, config)
        if model is not None:
            _save(synthesizer, model, overwrite)
        count = rows if rows is not None else synthesizer.null_report.rows_before
        _generate(synthesizer, output, count, sample_seed, name, overwrite)

        from synthdb.io.sources import read_table
        from synthdb.scoring import evaluate as score

        synthetic = read_table(output, name)
        null_report = synthesizer.null_report
        reference = frame
        # ``rows_dropped`` is 0 under DP (an exact count would leak), so ask the frame
        if null_report.policy == "drop" and bool(frame.isna().to_numpy().any()):
            # compare with what the model was asked to learn, not with rows it never saw
            reference = frame.dropna().reset_index(drop=True)
            if not quiet:
                err.print(
                    f"accuracy is measured against the {len(reference):,} source rows without "
                    "NULL that the model learned (--nulls drop)",
                    markup=False,
                    soft_wrap=True,
                )
        elif null_report.policy == "replace" and null_report.cells_replaced and not quiet:
            err.print(
                "NULL cells were replaced for training, so the source's NULLs count against "
                "accuracy; --nulls keep models them instead",
                markup=False,
                soft_wrap=True,
            )
        quality = score(
            reference,
            synthetic,
            holdout,
            table=table,
            target=target,
            progress=_say if report_path is not None or target is not None else None,
            rules=synthesizer.state.rules,
        )
        report = quality.to_dict()
        if json_path is not None:
            _write_json(json_path, report, overwrite)
        if report_path is not None:
            from synthdb.report import Report

            summary = _model_summary(synthesizer, model)
            notes = []
            if reference is not frame:
                notes.append(
                    f"accuracy is measured against the {len(reference):,} source rows without "
                    "NULL that the model learned (--nulls drop)"
                )
            page = Report(
                quality=quality,
                table=name,
                sources=_sources(shown, output, holdout, model),
                model=summary,
                notes=notes,
            )
            _write_report(page, report_path, None, overwrite)
        if not quiet:
            _show_figures(report, privacy=report_path is not None or target is not None)


def _sources(
    real: str, synthetic: str, holdout: str | None, model: Path | None
) -> dict[str, str | None]:
    """What a table's report page says it compared."""
    return {
        "real": real,
        "synthetic": synthetic,
        "holdout": holdout,
        "model": str(model) if model is not None else None,
    }


def _show_figures(figures: dict[str, Any], *, privacy: bool) -> None:
    """A table's figures in the terminal: accuracy, privacy if measured in full, the rules,
    and the sequences' coherence when the rows were scored as sequences."""
    from synthdb.cli.databases import sequences_table
    from synthdb.cli.tables import accuracy_table, privacy_table, rules_table

    out.print(accuracy_table(figures))
    if privacy:
        out.print(privacy_table(figures))
    if figures["rules"]:
        out.print(rules_table(figures["rules"]))
    if figures.get("sequences"):
        out.print(sequences_table(figures["sequences"]))


def _run_sequences(
    source: str,
    shown: str,
    table: str | None,
    name: str,
    encoding: str,
    config: TrainingConfig,
    sequenced: tuple[str, list[str]],
    output: str,
    sequences: int | None,
    seed: int,
    model_path: Path | None,
    holdout: str | None,
    target: str | None,
    json_path: Path | None,
    report_path: Path | None,
    overwrite: bool,
) -> None:
    """``run`` for a table of sequences: train, write the sequences, score rows and
    sequences."""
    from synthdb.cli.sequences import write_sequences
    from synthdb.io.sources import read_table
    from synthdb.scoring import evaluate as score

    twin, frame = _train_sequences(source, shown, table, name, encoding, config, sequenced)
    if model_path is not None:
        twin.save(model_path, overwrite=overwrite)
        _session.written.append(str(model_path))
        _say(f"saved model to {model_path}")
    location, _ = write_sequences(
        twin, output, sequences, seed, name, overwrite, err, _say, quiet=_session.quiet
    )
    _session.written.append(location)
    synthetic = read_table(output, name)
    key, order = sequenced
    quality = score(
        frame,
        synthetic,
        holdout,
        table=name,
        target=target,
        progress=_say if report_path is not None or target is not None else None,
        rules=twin.all_rules(),
        sequence_key=key,
        order_by=order,
    )
    ordered = f", ordered by {', '.join(order)}" if order else ", in the source's row order"
    figures = quality.to_dict()
    if json_path is not None:
        _write_json(json_path, figures, overwrite)
    if report_path is not None:
        from synthdb.report import Report
        from synthdb.report.model import model_summary

        page = Report(
            quality=quality,
            table=name,
            sources=_sources(shown, output, holdout, model_path),
            model=model_summary(model_path) if model_path is not None else None,
            notes=[f"rows learned as sequences by {key}{ordered}"],
        )
        _write_report(page, report_path, None, overwrite)
    if not _session.quiet:
        _show_figures(figures, privacy=report_path is not None or target is not None)


def _model_summary(
    model: Synthesizer | DatabaseModel, path: Path | None, *, database: bool = False
) -> dict[str, Any]:
    """The report's model section, read back from a model file as ``synthdb report`` does.

    Without --model the model is saved to a temporary file first: the page then shows exactly
    what a model file holds (a privacy ledger included), not a second account of it.
    """
    import tempfile

    from synthdb.report.model import database_model_summary, model_summary

    summarise = database_model_summary if database else model_summary
    if path is not None:
        return summarise(path)
    with tempfile.TemporaryDirectory(prefix="synthdb-report-") as folder:
        saved = Path(folder) / "model.synthdb"
        model.save(saved)
        summary = summarise(saved)
    summary["path"] = None
    return summary


@app.command("privacy")
def privacy_command(
    model: Annotated[
        Path, typer.Argument(help="model file written by 'synthdb train'", show_default=False)
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="print the ledger as JSON instead of a table. Default: off.",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Print a model's epsilon ledger: every mechanism that read the data, its epsilon and
    delta, what was assumed public, and the composed total, recomputed from the recorded
    parameters."""
    with _errors("privacy"):
        from synthdb.modelfile import read_manifest

        manifest = read_manifest(model)
        data = manifest.get("privacy")
        if data is None:
            raise UsageError(
                f"{model} was trained without differential privacy: it has no epsilon ledger",
                hint="train with --epsilon or --privacy",
            )
        from synthdb.privacy.ledger import Ledger

        ledger = Ledger.from_dict(data)
        recomputed = ledger.total_epsilon
        if as_json:
            out.print_json(json.dumps({**data, "recomputed_total_epsilon": recomputed}))
            return
        table, notes = _ledger_table(data)
        out.print(table)
        for note in notes:
            out.print(note, markup=False)
        target = data.get("target_epsilon")
        budget = f" of the {target:g} budgeted" if target is not None else ""
        out.print(
            f"total epsilon {data['total_epsilon']:.4f}{budget} at delta {data['delta']:.3g} "
            f"({data['accountant']}; recomputed from the entries: {recomputed:.4f})"
        )


def _ledger_table(data: dict[str, Any]) -> tuple[Any, list[str]]:
    """The ledger as a narrow table, plus one numbered line of details per entry below it."""
    from rich.table import Table

    grid = Table(title="epsilon ledger", title_justify="left")
    for name in ("#", "mechanism", "released", "epsilon", "delta", "noise"):
        grid.add_column(name, justify="right" if name in ("#", "epsilon", "delta") else "left")
    notes = []
    for number, entry in enumerate(data["entries"], start=1):
        details = dict(entry.get("parameters", {}))
        for key in ("sample_rate", "steps", "threshold_delta"):
            if entry.get(key):
                details[key] = entry[key]
        text = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in details.items()
        )
        if entry.get("note"):
            text = f"{text}; {entry['note']}" if text else entry["note"]
        if text:
            notes.append(f"{number}. {text}")
        noise = entry.get("noise_multiplier")
        grid.add_row(
            str(number),
            entry["mechanism"],
            entry["target"],
            f"{entry['epsilon']:.4f}",
            f"{entry.get('delta', 0.0):.3g}",
            f"{noise:.4g}" if noise is not None else "",
        )
    return grid, notes


@app.command()
def inspect(
    path: Annotated[
        str,
        typer.Argument(
            help="a table (CSV/TSV, Parquet, database URL) or a model file", show_default=False
        ),
    ],
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="table to read when the input is a database. Default: its only table.",
            show_default=False,
        ),
    ] = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Print the inferred schema of a table and the rules found in it, or the summary, schema
    and rules of a model file; for a database (or a model of one), its tables and rules."""
    from synthdb.cli.tables import rules_table, schema_table
    from synthdb.schema.table import TableSchema

    with _errors("inspect"):
        schema: TableSchema
        rules: list[dict[str, Any]]
        if _is_model_file(path):
            from synthdb.modelfile import read_manifest

            manifest = read_manifest(Path(path))
            if manifest.get("kind") == "database":
                _inspect_database_model(path, manifest)
                return
            if manifest.get("kind") == "sequences":
                _inspect_sequence_model(path, manifest)
                return
            schema = TableSchema.from_dict(manifest["schema"])
            training = manifest["training"]
            privacy = manifest.get("privacy")
            if privacy:
                # no validation under DP (it would read data outside the budget): the last
                # epoch is kept, and what it cost is the figure to show
                kept = (
                    f"last epoch kept, differential privacy: epsilon "
                    f"{privacy['total_epsilon']:.4g} of {privacy['target_epsilon']:g} at delta "
                    f"{privacy['delta']:g} (synthdb privacy {path})"
                )
            else:
                kept = (
                    f"best epoch {training['best_epoch']} "
                    f"(validation accuracy {training['best_accuracy']:.4f})"
                )
            out.print(
                f"model {path}: format {manifest['format_version']}, synthdb "
                f"{manifest['versions']['synthdb']}, stop reason {manifest['stop_reason']}, "
                f"{len(training['epochs'])} epochs, {kept}, "
                f"nulls {manifest['nulls']['policy']}"
            )
            counts = not privacy
            rules = list(manifest.get("rules", []))
        else:
            from synthdb.cli import databases

            if databases.is_database_input(path, table, None):
                _inspect_database(path, encoding)
                return
            from synthdb.io.sources import read_table
            from synthdb.rules.table import discover_table_rules
            from synthdb.schema.inference import infer_schema
            from synthdb.schema.values import to_typed

            _, name = _open_input(path, table, encoding)
            frame = read_table(path, table, encoding=encoding)
            schema = infer_schema(frame, name)
            counts = True
            rules = [r.to_dict() for r in discover_table_rules(to_typed(frame, schema), schema)]
        out.print(schema_table(schema, counts=counts))
        out.print(rules_table(rules, title="rules found") if rules else "rules found: none")


def _inspect_database(path: str, encoding: str) -> None:
    """Tables, keys and rules of a database (or folder, or job file) as a run would find them."""
    from synthdb.cli import databases
    from synthdb.cli.databases import sequence_lines
    from synthdb.cli.tables import rules_table
    from synthdb.config import TrainingConfig
    from synthdb.rules.database import discover_database_rules, key_columns
    from synthdb.rules.table import discover_table_rules
    from synthdb.schema.inference import infer_schema
    from synthdb.schema.values import to_typed

    database, schema, settings = databases.open_input(path, None, None, encoding)
    frames = {name: database.read(name) for name in schema.order}
    out.print(databases.summary_table(schema, None, frames))
    _, contexts, orders = databases.table_configs(TrainingConfig(), settings)
    for line in sequence_lines(schema, frames, contexts, orders):
        out.print(line)
    found = [r.to_dict() for r in discover_database_rules(schema, frames)]
    for name in schema.order:
        keys = key_columns(schema.table(name))
        values = frames[name][[c for c in frames[name].columns if c not in keys]]
        if values.shape[1] and len(values):
            table_schema = infer_schema(values, name)
            typed = to_typed(values, table_schema)
            found += [r.to_dict() for r in discover_table_rules(typed, table_schema)]
    out.print(rules_table(found, title="rules found") if found else "rules found: none")


def _inspect_database_model(path: str, manifest: dict[str, Any]) -> None:
    from rich.table import Table

    from synthdb.cli.tables import rules_table

    tables = manifest.get("tables", {})
    out.print(
        f"model {path}: format {manifest['format_version']}, synthdb "
        f"{manifest['versions']['synthdb']}, a database of {len(tables)} tables"
    )
    contexts = manifest.get("contexts", {})
    orders = manifest.get("orders", {})
    grid = Table(title="tables", title_justify="left")
    for header in ("table", "rows", "drawn under", "as sequences ordered by", "model"):
        grid.add_column(header)
    for name, entry in tables.items():
        model = entry.get("model")
        epochs = len(model["training"]["epochs"]) if model else 0
        grid.add_row(
            name,
            f"{int(entry.get('rows', 0)):,}",
            contexts.get(name, "-"),
            ", ".join(orders.get(name) or []) or "-",
            f"{epochs} epochs" if model else "keys only",
        )
    out.print(grid)
    rules = list(manifest.get("rules", []))
    for entry in tables.values():
        if entry.get("model"):
            rules += entry["model"].get("rules", [])
    out.print(rules_table(rules, title="rules kept") if rules else "rules kept: none")


def _inspect_sequence_model(path: str, manifest: dict[str, Any]) -> None:
    """A model of one table's sequences: how the rows form them, and each part's training."""
    from rich.table import Table

    from synthdb.cli.tables import rules_table, schema_table
    from synthdb.relational.sequence_table import ENTITY_SUFFIX
    from synthdb.schema.table import TableSchema

    about = manifest["sequence_table"]
    order = ", ".join(about["order_by"]) or "the rows' order in the source"
    out.print(
        f"model {path}: format {manifest['format_version']}, synthdb "
        f"{manifest['versions']['synthdb']}, table {about['table']} as "
        f"{int(about['sequences']):,} sequences by {about['sequence_key']} (new keys: "
        f"{about['key'].get('key_format')}), ordered by {order}"
    )
    if about["entity_columns"]:
        out.print(f"one value per sequence: {', '.join(about['entity_columns'])}")
    grid = Table(title="parts", title_justify="left")
    for header in ("part", "rows", "stop reason", "epochs", "best epoch"):
        grid.add_column(header)
    rules: list[dict[str, Any]] = []
    for name, entry in manifest["tables"].items():
        model = entry.get("model")
        part = "sequences" if name.endswith(ENTITY_SUFFIX) else "events"
        if not model:
            grid.add_row(part, f"{int(entry['rows']):,}", "-", "0", "-")
            continue
        training = model["training"]
        grid.add_row(
            part,
            f"{int(entry['rows']):,}",
            str(model.get("stop_reason", "-")),
            str(len(training["epochs"])),
            f"{training['best_epoch']} (validation accuracy {training['best_accuracy']:.4f})",
        )
        rules += model.get("rules", [])
        if part == "events":
            # the order column is learned as gaps (NULL after each first event): left out
            schema = TableSchema.from_dict(model["schema"])
            shown = [
                c
                for c in schema.columns
                if not c.name.startswith("__synthdb") and c.name not in about["order_by"][:1]
            ]
            out.print(schema_table(TableSchema(schema.name, shown, schema.rows), counts=True))
    out.print(grid)
    out.print(rules_table(rules, title="rules kept") if rules else "rules kept: none")


def _is_model_file(path: str) -> bool:
    """Named .synthdb, or a zip under a name that is no table format (``inspect my.model``)."""
    from synthdb.io._locations import file_format, is_url

    if is_url(path):
        return False
    location = Path(path)
    if location.suffix.lower() == ".synthdb":
        return True
    if file_format(location) is not None or not location.is_file():
        return False
    with location.open("rb") as stream:
        return stream.read(4) == b"PK\x03\x04"


def _usage_message(exc: typer.TyperException) -> str:
    """Click's usage error, on one line, pointing at the help that lists the valid values."""
    message = exc.format_message().replace("Value error, ", "").strip()
    context = getattr(exc, "ctx", None)
    command = getattr(context, "command_path", None) or "synthdb"
    return f"{message} (see '{command} --help')"


def main(args: list[str] | None = None) -> None:
    """Console entry point."""
    argv = list(sys.argv[1:] if args is None else args)
    options = argv[: argv.index("--")] if "--" in argv else argv
    if "--debug" in options:  # accepted after the command too: "synthdb train ... --debug"
        argv.remove("--debug")
        _session.debug = True
    try:
        code = app(args=argv, prog_name="synthdb", standalone_mode=False)
    except typer.TyperException as exc:  # flags that do not parse: no command ran
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
        else:
            _fail(f"error: {_usage_message(exc)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # outside any command body: nothing had started writing
        _fail("interrupted (Ctrl-C): nothing was written")
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    status = code if isinstance(code, int) else 0
    if args is None:  # the console script: a process of its own
        _leave(status)
    sys.exit(status)


def _leave(status: int) -> None:
    """End the process without finalising the interpreter.

    With PyTorch loaded, tearing down thousands of modules takes about half a second after the
    work is done (5% of generating a million rows). By now every output has been closed and
    renamed into place and the worker threads have ended; only the consoles need flushing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
