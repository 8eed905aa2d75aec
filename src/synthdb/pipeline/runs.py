"""``synthdb run`` as one call: train, generate, measure, and optionally keep the model, the
figures as JSON and the report page. Every output is checked before training, which may take
hours."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from synthdb.errors import UsageError
from synthdb.pipeline import inputs
from synthdb.pipeline.events import Listener, RunOutcome, SilentListener
from synthdb.pipeline.generation import write_rows, write_sequences, write_twin
from synthdb.pipeline.reports import model_summary, sources, write_json, write_report
from synthdb.pipeline.training import fit_database, fit_sequences, fit_table

if TYPE_CHECKING:
    from synthdb.config import TrainingConfig

#: said (and noted on the page) when rows with a NULL were dropped for training
_DROPPED = (
    "accuracy is measured against the {rows:,} source rows without NULL that the model learned "
    "(--nulls drop)"
)
_REPLACED = (
    "NULL cells were replaced for training, so the source's NULLs count against accuracy; "
    "--nulls keep models them instead"
)


def run(
    source: str | Path,
    output: str | Path,
    config: TrainingConfig | None = None,
    *,
    rows: int | None = None,
    sample_seed: int = 0,
    model_path: str | Path | None = None,
    holdout: str | Path | None = None,
    json_path: str | Path | None = None,
    report_path: str | Path | None = None,
    target: str | None = None,
    table: str | None = None,
    tables: str | Sequence[str] | None = None,
    scale: float | None = None,
    job: inputs.Job | None = None,
    sequence_key: str | None = None,
    order_by: str | Sequence[str] | None = None,
    sequences: int | None = None,
    encoding: str = "utf-8",
    overwrite: bool = False,
    labels: Mapping[str, str] | None = None,
    listener: Listener | None = None,
) -> RunOutcome:
    """Train on ``source``, write a synthetic twin to ``output`` and measure it against the
    source (and ``holdout``): :func:`train`, :func:`generate` and :func:`evaluate` in one
    call, with the model kept at ``model_path``, the figures at ``json_path`` and the report
    page at ``report_path`` when given.

    Accuracy is measured against what the model was asked to learn: with the NULL policy
    ``drop``, the source rows without NULL. A database (see :func:`train`) takes ``scale``,
    not ``rows``, ``holdout`` or ``target``.

    ``labels`` names the report page's inputs (keys ``real``, ``synthetic``, ``holdout``,
    ``model``) in place of their paths: a service shows a dataset's name, not where it keeps
    its files.
    """
    from synthdb.config import TrainingConfig

    config = config if config is not None else TrainingConfig()
    listener = listener if listener is not None else SilentListener()
    source, output = str(source), str(output)
    holdout = str(holdout) if holdout is not None else None
    model_path, json_path, report_path = (
        Path(p) if p is not None else None for p in (model_path, json_path, report_path)
    )
    started = time.monotonic()
    inputs.check_sampling(rows, sample_seed, "sample_seed")
    if inputs.is_database_input(source, table, tables):
        inputs.refuse_sequences_for_database(sequence_key, order_by, sequences)
        unsupported = (("rows", rows), ("holdout", holdout), ("target", target))
        given = [name for name, value in unsupported if value is not None]
        if given:
            raise UsageError(
                f"`{given[0]}` is for a single table; a database run takes `scale`, "
                "`model_path`, `json_path`, `report_path`",
            )
        return _run_database(
            source,
            output,
            tables,
            job,
            encoding,
            config,
            model_path,
            json_path,
            report_path,
            scale,
            sample_seed,
            overwrite,
            labels or {},
            listener,
            started,
        )
    if scale is not None:
        raise UsageError("`scale` is for a database; this input is one table", hint="pass `rows` N")
    inputs.single_table_job(job, listener)
    sequenced = inputs.sequencing(job, sequence_key, order_by)
    if sequenced is None:
        inputs.check_no_sequences(sequences, "this run learns rows one by one", "`rows` N")
    elif rows is not None:
        raise UsageError(
            "`rows` is for rows learned one by one; with `sequence_key`, whole sequences "
            "are drawn, each as long as the model learned",
            hint="pass `sequences` N",
        )
    else:
        inputs.check_sequences(sequences)
    shown, name = inputs.open_table_input(source, table, encoding)
    # Every output is checked before training, which may take hours.
    inputs.check_output(output, name, overwrite)
    if model_path is not None:
        inputs.check_output(model_path, None, overwrite)
    if json_path is not None:
        inputs.check_output(json_path, None, overwrite)
    inputs.check_target(target, holdout)
    if report_path is not None:
        inputs.check_report_outputs(report_path, json_path, overwrite)
    measured = report_path is not None or target is not None
    progress = listener.on_message if measured else None
    from synthdb.io.sources import read_table
    from synthdb.scoring import evaluate as score

    if sequenced is not None:
        twin, frame = fit_sequences(
            source, shown, table, name, encoding, config, sequenced, listener
        )
        if model_path is not None:
            twin.save(model_path, overwrite=overwrite)
            listener.on_output(str(model_path))
            listener.on_message(f"saved model to {model_path}")
        location, written, _ = write_sequences(
            twin, output, sequences, sample_seed, name, overwrite, listener
        )
        synthetic = read_table(output, name)
        key, order = sequenced
        quality = score(
            frame,
            synthetic,
            holdout,
            table=name,
            target=target,
            progress=progress,
            rules=twin.all_rules(),
            sequence_key=key,
            order_by=order,
        )
        ordered = f", ordered by {', '.join(order)}" if order else ", in the source's row order"

        def sequence_model() -> dict[str, Any] | None:
            from synthdb.report.model import model_summary as summary_of

            return named(summary_of(model_path), labels) if model_path is not None else None

        return _table_outcome(
            quality,
            name,
            [f"rows learned as sequences by {key}{ordered}"],
            sequence_model,
            kind="sequences",
            location=location,
            rows=written,
            source_rows=len(frame),
            synthetic_rows=len(synthetic),
            shown=labelled(sources(shown, output, holdout, model_path), labels),
            paths=(model_path, json_path, report_path),
            overwrite=overwrite,
            listener=listener,
            started=started,
        )

    synthesizer, frame = fit_table(source, shown, table, name, encoding, config, listener)
    if model_path is not None:
        synthesizer.save(model_path, overwrite=overwrite)
        listener.on_output(str(model_path))
        listener.on_message(f"saved model to {model_path}")
    count = rows if rows is not None else synthesizer.null_report.rows_before
    location = write_rows(synthesizer, output, count, sample_seed, name, overwrite, listener)
    synthetic = read_table(output, name)
    null_report = synthesizer.null_report
    reference = frame
    notes = []
    # ``rows_dropped`` is 0 under DP (an exact count would leak), so ask the frame
    if null_report.policy == "drop" and bool(frame.isna().to_numpy().any()):
        # compare with what the model was asked to learn, not with rows it never saw
        reference = frame.dropna().reset_index(drop=True)
        notes.append(_DROPPED.format(rows=len(reference)))
        listener.on_message(notes[-1])
    elif null_report.policy == "replace" and null_report.cells_replaced:
        listener.on_message(_REPLACED)
    quality = score(
        reference,
        synthetic,
        holdout,
        table=table,
        target=target,
        progress=progress,
        rules=synthesizer.state.rules,
    )
    return _table_outcome(
        quality,
        name,
        notes,
        lambda: named(model_summary(synthesizer, model_path), labels),
        kind="table",
        location=location,
        rows=count,
        source_rows=len(reference),
        synthetic_rows=len(synthetic),
        shown=labelled(sources(shown, output, holdout, model_path), labels),
        paths=(model_path, json_path, report_path),
        overwrite=overwrite,
        listener=listener,
        started=started,
    )


def _table_outcome(
    quality: Any,
    name: str,
    notes: list[str],
    model: Callable[[], dict[str, Any] | None],
    *,
    kind: Literal["table", "sequences"],
    location: str,
    rows: int,
    source_rows: int,
    synthetic_rows: int,
    shown: Any,
    paths: tuple[Path | None, Path | None, Path | None],
    overwrite: bool,
    listener: Listener,
    started: float,
) -> RunOutcome:
    """The end of a one-table run, rows or sequences alike: the figures as JSON, the report
    page (``model`` summarises the model for it, only when a page is written), the outcome."""
    model_path, json_path, report_path = paths
    figures = quality.to_dict()
    if json_path is not None:
        write_json(json_path, figures, overwrite, listener)
    if report_path is not None:
        from synthdb.report import Report

        page = Report(quality=quality, table=name, sources=shown, model=model(), notes=notes)
        write_report(page, report_path, None, overwrite, listener)
    return RunOutcome(
        output=location,
        kind=kind,
        model_path=model_path,
        json_path=json_path,
        report_path=report_path,
        rows=rows,
        source_rows={name: source_rows},
        synthetic_rows={name: synthetic_rows},
        figures=figures,
        notes=notes,
        seconds=time.monotonic() - started,
    )


def _run_database(
    source: str,
    output: str,
    tables: str | Sequence[str] | None,
    job: inputs.Job | None,
    encoding: str,
    config: TrainingConfig,
    model_path: Path | None,
    json_path: Path | None,
    report_path: Path | None,
    scale: float | None,
    seed: int,
    overwrite: bool,
    labels: Mapping[str, str],
    listener: Listener,
    started: float,
) -> RunOutcome:
    from synthdb.evaluation.relations import database_accuracy

    factor = inputs.check_scale(scale)
    database, schema, settings = inputs.open_database_input(source, tables, job, encoding)
    # every output is checked before training, which may take hours
    inputs.check_database_output(output, schema, overwrite)
    for path in (model_path, json_path):
        if path is not None:
            inputs.check_output(path, None, overwrite)
    if report_path is not None:
        inputs.check_report_outputs(report_path, json_path, overwrite)
    twin, real = fit_database(database, schema, config, settings, listener)
    if model_path is not None:
        twin.save(model_path, overwrite=overwrite)
        listener.on_output(str(model_path))
        listener.on_message(f"saved model of {len(schema.tables)} tables to {model_path}")
    synthetic = write_twin(twin, output, factor, seed, overwrite, listener)
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
            progress=listener.on_message,
            rules=twin.all_rules(),
            ordered=twin.ordered_tables(),
        )
        scores = quality.accuracy  # the page's summary and the printed tables agree
        shown = {
            "real": database.location,
            "synthetic": inputs.display(output),
            "model": str(model_path) if model_path is not None else None,
        }
        page = DatabaseReport(
            quality=quality,
            database=database_name(labels.get("real", database.location)),
            sources=labelled(shown, labels),
            model=named(model_summary(twin, model_path, database=True), labels),
        )
        write_report(page, report_path, None, overwrite, listener)
    figures = scores.to_dict()
    if json_path is not None:
        write_json(json_path, figures, overwrite, listener)
    synthetic_rows = {name: len(synthetic[name]) for name in schema.order}
    return RunOutcome(
        output=inputs.display(output),
        kind="database",
        model_path=model_path,
        json_path=json_path,
        report_path=report_path,
        rows=sum(synthetic_rows.values()),
        source_rows={name: len(real[name]) for name in schema.order},
        synthetic_rows=synthetic_rows,
        figures=figures,
        seconds=time.monotonic() - started,
    )


def labelled(
    given: dict[str, str | None], labels: Mapping[str, str] | None
) -> dict[str, str | None]:
    """The page's sources, each named by its label when ``labels`` has one."""
    labels = labels or {}
    return {
        key: labels.get(key, value) if value is not None else None for key, value in given.items()
    }


def named(summary: dict[str, Any], labels: Mapping[str, str] | None) -> dict[str, Any]:
    """The model's summary, its path named by the ``model`` label when there is one."""
    if labels and "model" in labels and summary.get("path") is not None:
        summary["path"] = labels["model"]
    return summary
