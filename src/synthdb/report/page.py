"""The report as one object: the evaluation's figures, the model's story, and where they came
from; it renders to the HTML page and serialises to the JSON beside it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthdb import __version__
from synthdb.evaluation.database import DatabaseQuality
from synthdb.evaluation.quality import Progress, QualityReport
from synthdb.io._locations import shown
from synthdb.rules.model import Rule, rules_from_dicts

if TYPE_CHECKING:
    from synthdb.io.database import DatabaseSource


@dataclass(frozen=True)
class Report:
    """Everything on the page; :meth:`to_dict` is also exactly what ``--json`` writes."""

    quality: QualityReport
    table: str
    sources: dict[str, str | None]
    model: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """The evaluation's figures (the same keys and values as ``synthdb evaluate --json``),
        plus ``model`` and ``report`` (what was compared, when, by which synthdb)."""
        data = self.quality.to_dict()
        data["model"] = self.model
        data["report"] = {
            "table": self.table,
            "created": self.created,
            "synthdb": __version__,
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }
        return data

    def html(self, progress: Progress | None = None) -> str:
        from synthdb.report.html import render

        return render(self.to_dict(), progress)


def model_rules(path: Path) -> list[Rule]:
    """The rules a model file keeps (a database's: across tables, then each table's), so a
    report on its twin shows those, declared ones included, rather than rediscovering them."""
    from synthdb.modelfile import read_manifest

    manifest = read_manifest(Path(path))
    items = list(manifest.get("rules", []))
    for entry in manifest.get("tables", {}).values():
        if entry.get("model"):
            items += entry["model"].get("rules", [])
    return rules_from_dicts(items)


def model_orders(path: Path) -> tuple[dict[str, list[str]], dict[str, str]] | None:
    """A database model file's orders and contexts (None for a model that predates them)."""
    from synthdb.modelfile import read_manifest

    manifest = read_manifest(Path(path))
    if "orders" not in manifest:
        return None
    return dict(manifest["orders"]), dict(manifest.get("contexts", {}))


def build_report(
    real: str | Path,
    synthetic: str | Path,
    holdout: str | Path | None = None,
    *,
    target: str | None = None,
    model: Path | None = None,
    table: str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    sequence_key: str | None = None,
    order_by: Sequence[str] = (),
) -> Report:
    """Read the tables, evaluate them and summarise the model file, for one page. Rows are
    scored as sequences with ``sequence_key`` (and ``order_by``), or when ``model`` is a
    model of sequences (its key and order, unless given)."""
    from synthdb.report.model import model_summary
    from synthdb.scoring import evaluate

    say = progress or (lambda message: None)
    started = time.monotonic()
    summary = None
    if model is not None:  # a damaged model file fails now, before the slow steps
        summary = model_summary(model)
        about = summary.get("sequences")
        if about and sequence_key is None:
            sequence_key, order_by = about["sequence_key"], about["order_by"]
    quality = evaluate(
        real,
        synthetic,
        holdout,
        table=table,
        target=target,
        seed=seed,
        progress=progress,
        rules=model_rules(model) if model is not None else None,
        sequence_key=sequence_key,
        order_by=order_by,
    )
    name = table or Path(str(real)).name.split(".")[0] or "table"
    say(f"evaluated in {time.monotonic() - started:.1f} s")
    return Report(
        quality=quality,
        table=name,
        sources={  # database URLs without their password
            "real": shown(real),
            "synthetic": shown(synthetic),
            "holdout": shown(holdout) if holdout is not None else None,
            "model": str(model) if model is not None else None,
        },
        model=summary,
    )


@dataclass(frozen=True)
class DatabaseReport:
    """Everything on the database page; :meth:`to_dict` is also exactly what ``--json`` writes.

    Its ``tables`` and ``relations`` keys are :func:`synthdb.evaluation.relations
    .database_accuracy`'s, as ``synthdb run --json`` writes them for a database.
    """

    quality: DatabaseQuality
    database: str
    sources: dict[str, str | None]
    model: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        data = self.quality.to_dict()
        data["model"] = self.model
        data["report"] = {
            "database": self.database,
            "created": self.created,
            "synthdb": __version__,
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }
        return data

    def html(self, progress: Progress | None = None) -> str:
        from synthdb.report.database_html import render_database

        return render_database(self.to_dict(), progress)


def database_name(location: str) -> str:
    """A short name for the page title: the file or folder name, or the URL's database."""
    text = location.rstrip("/")
    tail = text.rsplit("/", 1)[-1] or text
    return tail.split("?", 1)[0].split(".", 1)[0] or "database"


def build_database_report(
    real: str | Path | DatabaseSource,
    synthetic: str | Path | DatabaseSource,
    *,
    model: Path | None = None,
    tables: list[str] | None = None,
    encoding: str = "utf-8",
    seed: int = 0,
    progress: Progress | None = None,
) -> DatabaseReport:
    """Read both databases, evaluate every table and relationship, and summarise the model."""
    from synthdb.report.model import database_model_summary
    from synthdb.scoring import evaluate_database

    say = progress or (lambda message: None)
    started = time.monotonic()
    summary = database_model_summary(model) if model is not None else None
    kept = model_orders(model) if model is not None else None
    quality = evaluate_database(
        real,
        synthetic,
        tables=tables,
        encoding=encoding,
        seed=seed,
        progress=progress,
        rules=model_rules(model) if model is not None else None,
        orders=kept[0] if kept is not None else None,
        contexts=kept[1] if kept is not None else None,
    )
    say(f"evaluated in {time.monotonic() - started:.1f} s")
    shown = {
        name: value if isinstance(value, str | Path) else value.location
        for name, value in (("real", real), ("synthetic", synthetic))
    }
    return DatabaseReport(
        quality=quality,
        database=database_name(str(shown["real"])),
        sources={
            "real": str(shown["real"]),
            "synthetic": str(shown["synthetic"]),
            "model": str(model) if model is not None else None,
        },
        model=summary,
    )
