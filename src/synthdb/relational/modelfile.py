"""A database model in one file: the same zip as a table's model, one entry per table.

``manifest.json`` holds ``kind: database``, the database schema (tables, types, keys; never a
location or credentials), the plan (which parent each table is drawn under) and, per table,
the table's model manifest as :mod:`synthdb.modelfile` writes it. ``weights.safetensors`` holds
every table's weights under ``<table>/``. No pickle, as for a single table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from synthdb.config import TrainingConfig
from synthdb.errors import ModelFileError
from synthdb.io.sinks import check_output
from synthdb.modelfile import (
    header,
    read_model_file,
    synthesizer_from_manifest,
    synthesizer_manifest,
    synthesizer_tensors,
    write_model_file,
)
from synthdb.privacy.database import Roles
from synthdb.privacy.ledger import Ledger
from synthdb.relational.model import DatabaseModel, TableModel
from synthdb.relational.plan import make_plans
from synthdb.relational.private import private_plans
from synthdb.relational.sequences import SequenceSpec
from synthdb.rules.model import rules_from_dicts
from synthdb.schema.relations import DatabaseSchema
from synthdb.schema.table import ColumnSchema

if TYPE_CHECKING:
    from synthdb.relational.sequence_table import SequenceModel


def save_database_model(
    model: DatabaseModel,
    path: Path,
    *,
    overwrite: bool = False,
    sequences: SequenceModel | None = None,
) -> None:
    """The database model in one file; with ``sequences``, as the model of one table whose
    rows are sequences (kind ``sequences``: the two tables it is learned as, and how they are
    written back as one)."""
    schema = model._fitted()
    check_output(path, overwrite=overwrite)
    tensors: dict[str, torch.Tensor] = {}
    tables: dict[str, Any] = {}
    for name in schema.order:
        table = model.models[name]
        entry = table.to_dict()
        entry["model"] = None
        if table.synthesizer is not None:
            entry["model"] = synthesizer_manifest(table.synthesizer)
            tensors.update(synthesizer_tensors(table.synthesizer, prefix=f"{name}/"))
        tables[name] = entry
    manifest = header() | {
        "kind": "database" if sequences is None else "sequences",
        **({"sequence_table": sequences.to_dict()} if sequences is not None else {}),
        "config": model.config.model_dump(mode="json"),
        "database": schema.to_dict(),
        "contexts": {
            name: plan.context.parent for name, plan in model.plans.items() if plan.context
        },
        "orders": model.orders,
        "inferred_orders": model.inferred_orders,
        "notes": model.notes,
        "rules": [rule.to_dict() for rule in model.rules],
        "tables": tables,
    }
    if model.roles is not None and model.ledger is not None:
        manifest["privacy"] = model.ledger.to_dict()
        manifest["privacy_roles"] = model.roles.to_dict()
        manifest["privacy_expected"] = model.expected
        manifest["public_tables"] = {
            name: _copied_to_dict(table.copied)
            for name, table in model.models.items()
            if table.copied is not None
        }
    write_model_file(path, manifest, save_tensors(tensors) if tensors else save_tensors({}))


def is_database_model(manifest: dict[str, Any]) -> bool:
    return manifest.get("kind") == "database"


def is_sequence_model(manifest: dict[str, Any]) -> bool:
    return manifest.get("kind") == "sequences"


def load_sequence_model(path: Path) -> SequenceModel:
    from synthdb.relational.sequence_table import SequenceModel

    manifest, weights = read_model_file(path)
    if not is_sequence_model(manifest):
        raise ModelFileError(
            f"{path} does not hold a model of sequences",
            hint="train one with: synthdb train TABLE -o MODEL --sequence-key COLUMN",
        )
    database = _database_from(path, manifest, weights)
    try:
        return SequenceModel.from_dict(manifest["sequence_table"], database)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, "a model of sequences", exc) from None


def load_database_model(path: Path) -> DatabaseModel:
    manifest, weights = read_model_file(path)
    if is_sequence_model(manifest):
        raise ModelFileError(
            f"{path} holds a model of one table's sequences, not of a database",
            hint="generate from it with: synthdb generate MODEL -o FILE --sequences N",
        )
    if not is_database_model(manifest):
        raise ModelFileError(
            f"{path} holds a model of one table, not of a database",
            hint="generate from it with: synthdb generate MODEL -o FILE --rows N",
        )
    return _database_from(path, manifest, weights)


def _database_from(path: Path, manifest: dict[str, Any], weights: bytes) -> DatabaseModel:
    tensors = load_tensors(weights)
    try:
        schema = DatabaseSchema.from_dict(manifest["database"])
        model = DatabaseModel(
            TrainingConfig(**manifest["config"]),
            contexts=manifest.get("contexts", {}),
            orders=manifest.get("orders", {}),
        )
        model.schema = schema
        model.plans = make_plans(schema, model.contexts)
        copied: dict[str, pd.DataFrame] = {}
        if manifest.get("privacy_roles") is not None:
            model.roles = Roles.from_dict(manifest["privacy_roles"])
            model.ledger = Ledger.from_dict(manifest["privacy"])
            model.expected = dict(manifest.get("privacy_expected", {}))
            model.plans = private_plans(model.plans, model.roles)
            copied = {
                name: _copied_from_dict(data)
                for name, data in manifest.get("public_tables", {}).items()
            }
        model.notes = list(manifest.get("notes", []))
        model.inferred_orders = list(manifest.get("inferred_orders", []))
        model.rules = rules_from_dicts(manifest.get("rules", []))
        for name in schema.order:
            entry = manifest["tables"][name]
            synthesizer = None
            if entry.get("model") is not None:
                prefix = f"{name}/"
                own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                synthesizer = synthesizer_from_manifest(entry["model"], own, path)
            model.models[name] = TableModel(
                name=name,
                rows=int(entry["rows"]),
                synthesizer=synthesizer,
                orphans=int(entry.get("orphans", 0)),
                flag=bool(entry.get("flag", False)),
                null_shares={int(k): float(v) for k, v in entry.get("null_shares", {}).items()},
                keys={k: ColumnSchema.from_dict(v) for k, v in entry.get("keys", {}).items()},
                columns=list(entry["columns"]),
                children={k: int(v) for k, v in entry.get("children", {}).items()},
                sequence=(
                    SequenceSpec.from_dict(entry["sequence"]) if entry.get("sequence") else None
                ),
                copied=copied.get(name),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, "a database model", exc) from None
    return model


def _copied_to_dict(frame: pd.DataFrame) -> dict[str, Any]:
    """A public table's rows as JSON (column-wise, with each column's pandas dtype), so that
    the twin holds exactly the source's values."""
    return {
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "columns": {
            str(c): [None if pd.isna(v) else _plain(v) for v in frame[c].tolist()]
            for c in frame.columns
        },
    }


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def _copied_from_dict(data: Mapping[str, Any]) -> pd.DataFrame:
    columns = {}
    for name, values in data["columns"].items():
        dtype = data["dtypes"][name]
        if dtype.startswith("datetime64"):
            columns[name] = pd.to_datetime(pd.Series(values, dtype=object)).astype(dtype)
        elif dtype == "object":
            columns[name] = pd.Series(values, dtype=object)
        else:
            columns[name] = pd.Series(values).astype(dtype)
    return pd.DataFrame(columns)


def _damaged(path: Path, what: str, exc: Exception) -> ModelFileError:
    return ModelFileError(
        f"{path} is damaged: its manifest does not describe {what} ({type(exc).__name__})",
        hint="train the model again",
    )
