"""What the report says about the model: parameters, stop reason, training curve, NULL policy,
and the differential-privacy ledger when the model file carries one.

Read from the model file's manifest alone (the weights stay in the zip). The privacy part is
generic on purpose: differential privacy adds a ``privacy`` object to the manifest (DESIGN.md
section 4: each mechanism, its share of epsilon, the total; ``synthdb.privacy.ledger`` writes
it) and per-epoch epsilon to the training history; whatever entries it holds are shown as they
are, so the page needs no change when a mechanism or a field is added.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

#: Keys under which a training-history record may carry the cumulative epsilon spent.
EPSILON_KEYS = ("epsilon", "epsilon_spent")
#: Keys of the privacy object that may hold the ledger's list of entries.
LEDGER_KEYS = ("entries", "ledger")


def model_summary(path: Path) -> dict[str, Any]:
    """The report's model section, from the manifest of the model file at ``path``."""
    from synthdb.modelfile import read_manifest

    manifest = read_manifest(path)
    if manifest.get("kind") == "sequences":
        # a table of sequences: the events' model is the one whose training the page shows
        about = manifest["sequence_table"]
        events = dict(manifest["tables"][about["table"]]["model"])
        events.setdefault("created", manifest.get("created"))
        events.setdefault("versions", manifest.get("versions", {}))
        summary = summary_from_manifest(events)
        summary["sequences"] = {
            key: about[key] for key in ("sequence_key", "order_by", "sequences", "entity_columns")
        }
    else:
        summary = summary_from_manifest(manifest)
    summary["path"] = str(path)
    return summary


def summary_from_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values: the figures the page shows, nothing the page does not."""
    manifest = _finite(manifest)
    training = manifest.get("training", {})
    history = list(training.get("epochs", []))
    config = dict(manifest.get("config", {}))
    return {
        "path": None,
        "created": manifest.get("created"),
        "synthdb_version": manifest.get("versions", {}).get("synthdb"),
        "parameters": config,
        "stop_reason": manifest.get("stop_reason", training.get("stop_reason")),
        "epochs_used": len(history),
        "max_epochs": config.get("max_epochs"),
        "best_epoch": training.get("best_epoch"),
        "best_accuracy": training.get("best_accuracy"),
        "training_seconds": training.get("seconds"),
        "batch_size": training.get("batch_size"),
        "history": history,
        "epsilon_by_epoch": epsilon_by_epoch(history, manifest.get("privacy")),
        "nulls": manifest.get("nulls"),
        "privacy": manifest.get("privacy"),
    }


def epsilon_by_epoch(
    history: list[dict[str, Any]], privacy: dict[str, Any] | None
) -> list[list[float]] | None:
    """``[epoch, cumulative epsilon]`` pairs from the history or the ledger; None without DP.

    The history wins when its records carry epsilon; otherwise ledger entries with an
    ``epoch`` and an ``epsilon`` are used. Entries that say neither are left out.
    """
    for key in EPSILON_KEYS:
        if history and all(_number(record.get(key)) for record in history):
            return [[float(record["epoch"]), float(record[key])] for record in history]
    ledger = ledger_entries(privacy)
    per_epoch = {
        int(entry["epoch"]): float(entry["epsilon"])
        for entry in ledger
        if isinstance(entry, dict) and _number(entry.get("epoch")) and _number(entry.get("epsilon"))
    }
    if not per_epoch:
        return None
    return [[float(epoch), per_epoch[epoch]] for epoch in sorted(per_epoch)]


def ledger_entries(privacy: dict[str, Any] | None) -> list[Any]:
    """The ledger's entries, under whichever of :data:`LEDGER_KEYS` the manifest uses."""
    for key in LEDGER_KEYS:
        entries = (privacy or {}).get(key)
        if isinstance(entries, list):
            return entries
    return []


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, at any depth.

    A DP model's history has NaN losses and validation accuracy (none are measured under DP),
    and the page embeds its data as strict JSON, which has no NaN.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def database_model_summary(path: Path) -> dict[str, Any]:
    """The database report's model part: the run's parameters and notes, and per table the
    summary :func:`summary_from_manifest` makes of that table's model (None for a table of
    keys only, which has no model of its own)."""
    from synthdb.errors import ModelFileError
    from synthdb.modelfile import read_manifest

    manifest = read_manifest(path)
    if manifest.get("kind") != "database":
        raise ModelFileError(
            f"{path} holds a model of one table, not of a database",
            hint="pass the model file 'synthdb train' or 'synthdb run --model' wrote for the "
            "database",
        )
    summary = database_summary_from_manifest(manifest)
    summary["path"] = str(path)
    return summary


def database_summary_from_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name, entry in (manifest.get("tables") or {}).items():
        table_manifest = entry.get("model") if isinstance(entry, dict) else None
        tables[name] = summary_from_manifest(table_manifest) if table_manifest else None
    return {
        "path": None,
        "created": manifest.get("created"),
        "synthdb_version": manifest.get("versions", {}).get("synthdb"),
        "parameters": dict(manifest.get("config", {})),
        "contexts": dict(manifest.get("contexts", {})),
        "notes": list(manifest.get("notes", [])),
        "tables": tables,
        # under DP: per table, the loss of accuracy expected before training
        "privacy_expected": dict(manifest.get("privacy_expected") or {}),
        "privacy_total": (manifest.get("privacy") or {}).get("total_epsilon"),
    }
