"""The CLI's whole-database flows: train a set of related models, write a synthetic twin.

``synthdb train|run`` take this path when the input is a database URL with several tables
(or ``--tables``), a folder of CSV/Parquet files, or a job file (``.yaml``/``.toml``) whose
``tables`` section declares files and keys. ``synthdb generate`` takes it for a model file of a
database. The single-table flows in :mod:`synthdb.cli.app` are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from synthdb.config import TrainingConfig, make_config
from synthdb.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from synthdb.io.database import DatabaseSource
    from synthdb.relational.model import DatabaseModel
    from synthdb.schema.relations import DatabaseSchema

JOB_SUFFIXES = (".yaml", ".yml", ".toml")
Say = Callable[[str], None]


def is_job_file(source: str) -> bool:
    return source.lower().endswith(JOB_SUFFIXES)


def is_database_input(source: str, table: str | None, tables: str | None) -> bool:
    """Whether ``source`` names several related tables rather than one table."""
    from synthdb.io._locations import is_url

    if is_job_file(source) or tables:
        return True
    if table is not None:
        return False
    if is_url(source):
        from synthdb.io.database import open_database

        return len(open_database(source).tables()) > 1
    return Path(source).is_dir()


def table_list(tables: str | None) -> list[str] | None:
    if tables is None:
        return None
    names = [name.strip() for name in tables.split(",") if name.strip()]
    if not names:
        raise UsageError("--tables needs at least one table name", hint="--tables orders,items")
    return names


def open_input(
    source: str, tables: str | None, job: Path | None, encoding: str
) -> tuple[DatabaseSource, DatabaseSchema, dict[str, dict[str, Any]]]:
    """The database, its schema (tables chosen by ``--tables``) and per-table job settings."""
    from synthdb.io.database import open_database
    from synthdb.jobfile import load_job_file, load_tables

    location: str | None = source
    declared = {}
    job_path = Path(source) if is_job_file(source) else job
    if job_path is not None:
        values = load_job_file(job_path)
        declared = load_tables(values, job_path)
        if is_job_file(source):
            given = values.get("input")
            location = None
            if given is not None:
                location = str(given)
                if "://" not in location:
                    location = str(job_path.resolve().parent / location)
    database = open_database(location, declared=declared, encoding=encoding)
    schema = database.schema(table_list(tables))
    settings = {name: dict(d.settings) for name, d in declared.items() if d.settings}
    return database, schema, settings


def table_configs(
    config: TrainingConfig, settings: dict[str, dict[str, Any]]
) -> tuple[dict[str, TrainingConfig], dict[str, str], dict[str, list[str]]]:
    """Per-table training parameters (job file ``tables.NAME.*`` over the run's), contexts
    and orders (``order_by``: one column or a list)."""
    configs: dict[str, TrainingConfig] = {}
    contexts: dict[str, str] = {}
    orders: dict[str, list[str]] = {}
    base = config.model_dump()
    for name, values in settings.items():
        values = {k.replace("-", "_"): v for k, v in values.items()}
        context = values.pop("context", None)
        if context is not None:
            contexts[name] = str(context)
        if "order_by" in values:  # false, "none" or [] switch an inferred order off
            order_by = values.pop("order_by")
            if order_by in (None, False, "none", "None"):
                orders[name] = []
            elif isinstance(order_by, str):
                orders[name] = [order_by]
            else:
                orders[name] = [str(c) for c in order_by]
        if values:
            configs[name] = make_config(**(base | values))
    return configs, contexts, orders


def train_database(
    database: DatabaseSource,
    schema: DatabaseSchema,
    config: TrainingConfig,
    settings: dict[str, dict[str, Any]],
    console: Console,
    say: Say,
    *,
    quiet: bool,
) -> tuple[DatabaseModel, dict[str, pd.DataFrame]]:
    from synthdb.relational.model import DatabaseModel

    for warning in schema.warnings():
        say(warning)
    frames = {}
    for name in schema.order:
        frames[name] = database.read(name)
    say(
        f"training on {database.location}: {len(schema.tables)} tables, "
        f"{schema.foreign_key_count} foreign keys, "
        f"{sum(len(f) for f in frames.values()):,} rows; purpose {config.purpose}, "
        f"max {config.max_epochs} epochs"
    )
    configs, contexts, orders = table_configs(config, settings)
    model = DatabaseModel(config, configs=configs, contexts=contexts, orders=orders)
    open_bars: list[Any] = []

    def listener_for(name: str, rows: int) -> Any:
        for bar in open_bars:
            bar.close()
        open_bars.clear()
        if quiet:
            from synthdb.training.loop import QuietListener

            return QuietListener()
        from synthdb.cli.progress import EpochProgress

        plan = model.plans[name]
        under = f" under {plan.context.parent}" if plan.context else ""
        bar = EpochProgress(console, label=name, header=f"table {name}: {rows:,} rows{under}")
        open_bars.append(bar)
        return bar

    try:
        model.fit(schema, frames, listener_for=listener_for)
    finally:
        for bar in open_bars:
            bar.close()
    for note in model.notes:
        say(f"note: {note}")
    return model, frames


def write_twin(
    model: DatabaseModel,
    output: str,
    *,
    scale: float,
    seed: int,
    overwrite: bool,
    say: Say,
) -> dict[str, pd.DataFrame]:
    """Generate the whole database and write it, all or nothing; return what was written."""
    from synthdb.io.database import write_database

    schema = model._fitted()
    say(f"generating {len(schema.tables)} tables at scale {scale:g}")
    synthetic = model.generate(scale=scale, seed=seed)
    write_database(
        output, schema, synthetic, overwrite=overwrite, warn=lambda text: say(f"warning: {text}")
    )
    say(f"wrote {len(synthetic)} tables to {_display(output)}")
    return synthetic


def check_twin_output(output: str, schema: DatabaseSchema, overwrite: bool) -> None:
    from synthdb.io.database import check_database_output

    check_database_output(output, schema, overwrite=overwrite)


def check_scale(scale: float | None) -> float:
    if scale is None:
        return 1.0
    if not scale > 0 or scale > 1_000:
        raise UsageError(f"--scale must be above 0 and at most 1000 (got {scale:g})")
    return scale


def summary_table(
    schema: DatabaseSchema,
    real: dict[str, pd.DataFrame] | None,
    synthetic: dict[str, pd.DataFrame],
    accuracy: dict[str, float | None] | None = None,
) -> Table:
    table = Table(title="rows per table")
    table.add_column("table")
    if real is not None:
        table.add_column("source", justify="right")
    table.add_column("synthetic", justify="right")
    if accuracy is not None:
        table.add_column("accuracy", justify="right")
    for name in schema.order:
        cells = [name]
        if real is not None:
            cells.append(f"{len(real[name]):,}")
        cells.append(f"{len(synthetic[name]):,}")
        if accuracy is not None:
            value = accuracy.get(name)
            empty = len(synthetic[name]) == 0 or (real is not None and len(real[name]) == 0)
            cells.append(f"{value:.4f}" if value is not None else "empty" if empty else "keys only")
        table.add_row(*cells)
    return table


def sequences_table(sequences: list[Any]) -> Table:
    """Coherence of each ordered table's sequences (evaluation/sequences.py)."""
    grid = Table(title="sequences (coherence: 1 is the source's)", title_justify="left")
    for header in ("table", "ordered by", "in order", "lengths", "gaps", "along", "coherence"):
        grid.add_column(header, justify="left" if header in ("table", "ordered by") else "right")

    def share(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for entry in sequences:
        item = entry if isinstance(entry, dict) else entry.to_dict()
        along = [v["score"] for v in item["lag1"].values() if v.get("score") is not None]
        along += [*item["transitions"].values(), *item["distinct"].values()]
        grid.add_row(
            f"{item['table']} per {item['parent']}",
            ", ".join(item["order_by"]) or "the rows' order",
            f"{share(item['in_order_synthetic'])} ({share(item['in_order_real'])})",
            score(item["length"]),
            score(item["gaps"]),
            score(sum(along) / len(along)) if along else "-",
            score(item["coherence"]),
        )
    return grid


def relations_table(relations: list[Any]) -> Table:
    table = Table(title="children per parent row (1 - TVD of binned counts)")
    for column, justify in (
        ("relation", "left"),
        ("source mean", "right"),
        ("synthetic mean", "right"),
        ("accuracy", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for relation in relations:
        table.add_row(
            f"{relation.child}({', '.join(relation.columns)}) -> {relation.parent}",
            f"{relation.real_mean:.2f}",
            f"{relation.synthetic_mean:.2f}",
            f"{relation.accuracy:.4f}",
        )
    return table


def _display(output: str) -> str:
    from synthdb.io._locations import is_url

    if is_url(output):
        from synthdb.errors import OutputError
        from synthdb.io._sql import display, parse_url

        return display(parse_url(output, OutputError))
    return output


def sequence_lines(
    schema: DatabaseSchema,
    frames: Mapping[str, pd.DataFrame],
    contexts: Mapping[str, str],
    orders: Mapping[str, list[str]],
) -> list[str]:
    """One line per child table drawn as sequences, as a run would decide it: the job file's
    ``order_by``, or the order inferred (see :func:`synthdb.relational.sequences.infer_order`)."""
    from synthdb.relational.model import ordered_tables

    return [
        f"sequences: {t.table} ordered by {', '.join(t.order_by)} within each {t.parent} "
        + ("(inferred: its one date column)" if t.inferred else "(job file)")
        for t in ordered_tables(schema, frames, contexts, orders)
    ]
