"""``synthdb inspect``: the schema and rules inferred from a table or a database, or what a
model file holds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthdb.cli._session import errors, out
from synthdb.cli.options import EncodingOpt

if TYPE_CHECKING:
    import pandas as pd

    from synthdb.schema.relations import DatabaseSchema


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

    with errors("inspect"):
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
            from synthdb.pipeline.inputs import is_database_input, open_table_input

            if is_database_input(path, table, None):
                _inspect_database(path, encoding)
                return
            from synthdb.io.sources import read_table
            from synthdb.rules.table import discover_table_rules
            from synthdb.schema.inference import infer_schema
            from synthdb.schema.values import to_typed

            _, name = open_table_input(path, table, encoding)
            frame = read_table(path, table, encoding=encoding)
            schema = infer_schema(frame, name)
            counts = True
            rules = [r.to_dict() for r in discover_table_rules(to_typed(frame, schema), schema)]
        out.print(schema_table(schema, counts=counts))
        out.print(rules_table(rules, title="rules found") if rules else "rules found: none")


def _inspect_database(path: str, encoding: str) -> None:
    """Tables, keys and rules of a database (or folder, or job file) as a run would find them."""
    from synthdb.cli.tables import rules_table, summary_table
    from synthdb.config import TrainingConfig
    from synthdb.pipeline.inputs import open_database_input, table_configs
    from synthdb.rules.database import discover_database_rules, key_columns
    from synthdb.rules.table import discover_table_rules
    from synthdb.schema.inference import infer_schema
    from synthdb.schema.values import to_typed

    database, schema, settings = open_database_input(path, None, None, encoding)
    frames = {name: database.read(name) for name in schema.order}
    out.print(summary_table(None, {name: len(frames[name]) for name in schema.order}))
    _, contexts, orders = table_configs(TrainingConfig(), settings)
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
    from synthdb.relational.summaries import summary_text

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
    for name, entry in tables.items():
        if entry.get("summaries"):
            shown = ", ".join(summary_text(c) for c in entry["summaries"])
            out.print(f"{name} learns its children as a whole (hidden): {shown}")
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
    from synthdb.relational.summaries import hidden_column
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
    if about.get("summarised"):
        out.print(
            "learned with each sequence: the most frequent value and its share of "
            f"{', '.join(about['summarised'])}"
        )
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
        rules += [
            r
            for r in model.get("rules", [])
            if not hidden_column(r.get("column")) and not hidden_column(r.get("source"))
        ]
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
