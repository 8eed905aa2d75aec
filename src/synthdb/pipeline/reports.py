"""Measuring a twin, as ``synthdb evaluate`` and ``synthdb report`` do: the figures as JSON,
the quality and privacy page as one self-contained HTML file. Each output is written under a
temporary name and renamed when whole."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthdb.errors import ModelFileError, UsageError
from synthdb.pipeline import inputs
from synthdb.pipeline.events import EvaluateOutcome, Listener, ReportOutcome, SilentListener

if TYPE_CHECKING:
    from synthdb.relational.model import DatabaseModel
    from synthdb.report import DatabaseReport, Report
    from synthdb.synthesizer import Synthesizer


def evaluate(
    real: str | Path,
    synthetic: str | Path,
    holdout: str | Path | None = None,
    *,
    table: str | None = None,
    target: str | None = None,
    sequence_key: str | None = None,
    order_by: str | Sequence[str] | None = None,
    json_path: str | Path | None = None,
    overwrite: bool = False,
    listener: Listener | None = None,
) -> EvaluateOutcome:
    """Accuracy, privacy risk and (with ``target`` and ``holdout``) ML utility of the table
    ``synthetic`` against ``real``; the sequences' coherence with ``sequence_key``. The
    figures are returned, and written to ``json_path`` if given (checked first)."""
    from synthdb.scoring import evaluate as score

    listener = listener if listener is not None else SilentListener()
    real, synthetic = str(real), str(synthetic)
    holdout = str(holdout) if holdout is not None else None
    json_path = Path(json_path) if json_path is not None else None
    started = time.monotonic()
    if json_path is not None:
        inputs.check_output(json_path, None, overwrite)
    inputs.check_target(target, holdout)
    sequenced = inputs.sequencing(None, sequence_key, order_by)
    key, order = sequenced if sequenced is not None else (None, [])
    quality = score(
        real,
        synthetic,
        holdout,
        table=table,
        target=target,
        progress=listener.on_message,
        sequence_key=key,
        order_by=order,
    )
    figures = quality.to_dict()
    if json_path is not None:
        write_json(json_path, figures, overwrite, listener)
    return EvaluateOutcome(figures=figures, json_path=json_path, seconds=time.monotonic() - started)


def report(
    real: str | Path,
    synthetic: str | Path,
    output: str | Path,
    *,
    holdout: str | Path | None = None,
    target: str | None = None,
    model_path: str | Path | None = None,
    table: str | None = None,
    tables: str | Sequence[str] | None = None,
    json_path: str | Path | None = None,
    sequence_key: str | None = None,
    order_by: str | Sequence[str] | None = None,
    encoding: str = "utf-8",
    overwrite: bool = False,
    listener: Listener | None = None,
) -> ReportOutcome:
    """Write the quality and privacy page of ``synthetic`` against ``real`` to ``output``
    (and its figures to ``json_path``): two tables, or two whole databases (``real`` then a
    URL with several tables, a folder or a job file; ``tables`` chooses some). With
    ``model_path``, the page shows the model's training and epsilon ledger."""
    listener = listener if listener is not None else SilentListener()
    real, synthetic, output = str(real), str(synthetic), Path(output)
    holdout = str(holdout) if holdout is not None else None
    model_path = Path(model_path) if model_path is not None else None
    json_path = Path(json_path) if json_path is not None else None
    inputs.check_report_outputs(output, json_path, overwrite)
    if model_path is not None and not model_path.exists():
        raise ModelFileError(f"model file {model_path} does not exist", hint="check the path")
    started = time.monotonic()
    page: Report | DatabaseReport
    if inputs.is_database_input(real, table, tables):
        given = [
            name
            for name, value in (("holdout", holdout), ("target", target), ("table", table))
            if value is not None
        ]
        if given:
            raise UsageError(
                f"`{given[0]}` is for a single table; a database report takes `model_path`, "
                "`tables`, `json_path`"
            )
        from synthdb.report import build_database_report

        source, schema, _ = inputs.open_database_input(real, tables, None, encoding)
        page = build_database_report(
            source,
            synthetic,
            model=model_path,
            tables=schema.order,
            encoding=encoding,
            progress=listener.on_message,
        )
    else:
        inputs.check_target(target, holdout)
        from synthdb.report import build_report

        sequenced = inputs.sequencing(None, sequence_key, order_by)
        page = build_report(
            real,
            synthetic,
            holdout,
            target=target,
            model=model_path,
            table=table,
            progress=listener.on_message,
            sequence_key=sequenced[0] if sequenced else None,
            order_by=sequenced[1] if sequenced else (),
        )
    size = write_report(page, output, json_path, overwrite, listener)
    listener.on_message(f"report done in {time.monotonic() - started:.1f} s")
    return ReportOutcome(
        path=output,
        json_path=json_path,
        size=size,
        figures=page.to_dict(),
        seconds=time.monotonic() - started,
    )


def write_json(path: Path, data: dict[str, Any], overwrite: bool, listener: Listener) -> None:
    """``data`` as indented JSON, whole or not at all."""
    from synthdb.io.sinks import atomic_path

    inputs.check_output(path, None, overwrite)
    with atomic_path(Path(path)) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    listener.on_output(str(path))


def write_report(
    page: Report | DatabaseReport,
    path: Path,
    json_path: Path | None,
    overwrite: bool,
    listener: Listener,
) -> int:
    """The page and its JSON, each written whole under a temporary name, then renamed; return
    the page's size in bytes."""
    from synthdb.io.sinks import atomic_path

    started = time.monotonic()
    html = page.html(progress=listener.on_message)
    inputs.check_output(path, None, overwrite)  # again: it may have appeared meanwhile
    with atomic_path(Path(path)) as temporary:
        temporary.write_text(html, encoding="utf-8")
    listener.on_output(str(path))
    size = len(html.encode("utf-8"))
    listener.on_message(
        f"wrote report {path} ({size / 1e6:.1f} MB, pictures drawn in "
        f"{time.monotonic() - started:.1f} s)"
    )
    if json_path is not None:
        write_json(json_path, page.to_dict(), overwrite, listener)
        listener.on_message(f"wrote its figures to {json_path}")
    return size


def model_summary(
    model: Synthesizer | DatabaseModel, path: Path | None, *, database: bool = False
) -> dict[str, Any]:
    """The report's model section, read back from a model file as :func:`report` does.

    Without ``path`` the model is saved to a temporary file first: the page then shows exactly
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


def sources(
    real: str, synthetic: str, holdout: str | None, model: Path | None
) -> dict[str, str | None]:
    """What a table's report page says it compared (database URLs without their password)."""
    return {
        "real": inputs.display(real),
        "synthetic": inputs.display(synthetic),
        "holdout": None if holdout is None else inputs.display(holdout),
        "model": str(model) if model is not None else None,
    }
