"""``evaluate``: how close a synthetic table is to the real one, and how private (DESIGN.md
section 5).

Both tables are read with the real table's inferred schema, so a CSV of synthetic strings is
compared value for value with the real data's numbers, dates and categories. The result holds
every figure of the report page (``synthdb report``), which is drawn from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import pandas as pd

from synthdb.errors import InputError, UsageError
from synthdb.evaluation.columns import display_kinds
from synthdb.evaluation.database import MAX_TABLE_ROWS, DatabaseQuality, assess_database
from synthdb.evaluation.privacy import MAX_ROWS
from synthdb.evaluation.quality import Progress, QualityReport, assess
from synthdb.evaluation.rules import table_rule_shares
from synthdb.evaluation.utility import check_target
from synthdb.io.sources import read_table
from synthdb.rules.model import Rule
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed

if TYPE_CHECKING:
    from synthdb.io.database import DatabaseSource

Table: TypeAlias = pd.DataFrame | str | Path


def evaluate(
    real: Table,
    synthetic: Table,
    holdout: Table | None = None,
    *,
    table: str | None = None,
    target: str | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    progress: Progress | None = None,
    rules: Sequence[Rule] | None = None,
    sequence_key: str | None = None,
    order_by: Sequence[str] = (),
) -> QualityReport:
    """Accuracy, privacy and (with ``target``) ML utility of ``synthetic`` against ``real``,
    and the share of rows keeping each rule in both (``rules``: those a model kept; default:
    those found in ``real``). With ``sequence_key`` (rows are sequences, one per key value,
    sorted by ``order_by`` or as written), the sequences' coherence and what the report page
    draws of them (:mod:`synthdb.evaluation.sequences`).

    With ``holdout`` (real rows the model never saw) the accuracy ceiling, the DCR share and
    the privacy references are measured too; ML utility needs it to test on. ``max_rows``
    caps the rows of the nearest-neighbour search (seeded samples beyond). The result is an
    :class:`~synthdb.evaluation.accuracy.AccuracyReport` with more fields.
    """
    real_frame = _frame(real, table)
    synthetic_frame = _frame(synthetic, table)
    holdout_frame = _frame(holdout, table) if holdout is not None else None
    schema = infer_schema(real_frame, "real")
    kinds = display_kinds(schema)
    if target is not None:
        check_target(target, schema.names, {c: "categorical" for c in kinds})
    for name, frame in (("synthetic", synthetic_frame), ("holdout", holdout_frame)):
        if frame is None:
            continue
        missing = [c for c in schema.names if c not in frame.columns]
        if missing:
            raise InputError(
                f"the {name} table lacks columns of the real one: {', '.join(missing)}",
                hint="compare tables with the same columns",
            )
    columns = list(kinds)

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        return to_typed(frame[schema.names], schema)[columns]

    report = assess(
        typed(real_frame),
        typed(synthetic_frame),
        typed(holdout_frame) if holdout_frame is not None else None,
        kinds,
        target=target,
        max_rows=max_rows,
        seed=seed,
        progress=progress,
    )
    # rules name their table as a model of it would: the file's name (or --table)
    name = table or (
        "table" if isinstance(real, pd.DataFrame) else Path(str(real)).name.split(".")[0]
    )
    shares = table_rule_shares(real_frame, synthetic_frame, rules, table=name or "table")
    report = dataclasses.replace(report, rules=shares)
    if sequence_key is not None:
        report = _with_sequences(
            report, real_frame, synthetic_frame, sequence_key, list(order_by), name or "table"
        )
    return report


def _with_sequences(
    report: QualityReport,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    key: str,
    order_by: list[str],
    name: str,
) -> QualityReport:
    from synthdb.evaluation.sequences import (
        OrderedTable,
        sequence_coherence,
        sequence_views,
        value_kinds,
    )

    for column in [key, *order_by]:
        if column not in real.columns:
            what = "sequence key" if column == key else "order column"
            raise UsageError(
                f"{what} {column!r} is not a column of the table",
                hint=f"the table has: {', '.join(map(str, real.columns))}",
            )
    ordered = OrderedTable(name, key, [key], order_by)
    kinds = value_kinds(real.drop(columns=[key]))
    return dataclasses.replace(
        report,
        sequences=[sequence_coherence(ordered, real, synthetic, kinds)],
        sequence_views=[sequence_views(real, synthetic, [key], order_by) | {"table": name}],
    )


def _frame(data: Table, table: str | None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return read_table(data, table)


Database: TypeAlias = "str | Path | DatabaseSource"


def evaluate_database(
    real: Database,
    synthetic: Database,
    *,
    tables: Sequence[str] | None = None,
    encoding: str = "utf-8",
    max_rows: int = MAX_TABLE_ROWS,
    seed: int = 0,
    progress: Progress | None = None,
    rules: Sequence[Rule] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
    contexts: Mapping[str, str] | None = None,
) -> DatabaseQuality:
    """Per-table and per-relationship figures of a synthetic twin against its real database.

    ``real`` and ``synthetic`` are database URLs, folders of CSV/Parquet files, job files with
    a ``tables`` section (real only), or opened sources. The real database's schema (all
    tables, or ``tables``) says which tables to compare and which columns are keys; the twin
    is read table by table under the same names. Tables above ``max_rows`` rows are sampled
    for the per-table figures; the accuracy summary uses every row. ``orders`` (a model's:
    tables it does not name are not sequences) and ``contexts`` say which child tables are
    sequences under which parent; without them, those a run would infer from ``real``.
    """
    say = progress or (lambda message: None)
    source = _open_database(real, encoding)
    twin = _open_database(synthetic, encoding)
    schema = source.schema(list(tables) if tables is not None else None)
    missing = [name for name in schema.order if name not in twin.tables()]
    if missing:
        raise InputError(
            f"the synthetic database lacks tables of the real one: {', '.join(missing)}",
            hint="compare a twin written by 'synthdb run' or 'synthdb generate' with its source",
        )
    say(f"reading {len(schema.tables)} tables of {source.location} and {twin.location}")
    real_frames = {name: source.read(name) for name in schema.order}
    synthetic_frames = {name: twin.read(name) for name in schema.order}
    from synthdb.relational.model import ordered_tables

    if orders is not None:
        orders = {name: list(orders.get(name, [])) for name in schema.order}
    return assess_database(
        schema,
        real_frames,
        synthetic_frames,
        max_rows=max_rows,
        seed=seed,
        progress=progress,
        rules=rules,
        ordered=ordered_tables(schema, real_frames, contexts, orders),
    )


def _open_database(location: Database, encoding: str) -> DatabaseSource:
    """A location opened as :func:`synthdb.io.database.open_database` does; a job file by the
    files and keys of its ``tables`` section (and its ``input``, when it names one)."""
    from synthdb.io.database import open_database
    from synthdb.jobfile import load_job_file, load_tables

    if not isinstance(location, str | Path):
        return location
    text = str(location)
    if not text.lower().endswith((".yaml", ".yml", ".toml")):
        return open_database(text, encoding=encoding)
    path = Path(text)
    values = load_job_file(path)
    given = values.get("input")
    where: str | None = None
    if given is not None:
        where = str(given) if "://" in str(given) else str(path.resolve().parent / str(given))
    return open_database(where, declared=load_tables(values, path), encoding=encoding)
