"""The report as one object: the evaluation's figures, the model's story, and where they came
from; it renders to the HTML page and serialises to the JSON beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthdb import __version__
from synthdb.evaluation.quality import Progress, QualityReport


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
) -> Report:
    """Read the tables, evaluate them and summarise the model file, for one page."""
    from synthdb.report.model import model_summary
    from synthdb.scoring import evaluate

    say = progress or (lambda message: None)
    started = time.monotonic()
    summary = None
    if model is not None:  # a damaged model file fails now, before the slow steps
        summary = model_summary(model)
    quality = evaluate(
        real, synthetic, holdout, table=table, target=target, seed=seed, progress=progress
    )
    name = table or Path(str(real)).name.split(".")[0] or "table"
    say(f"evaluated in {time.monotonic() - started:.1f} s")
    return Report(
        quality=quality,
        table=name,
        sources={
            "real": str(real),
            "synthetic": str(synthetic),
            "holdout": str(holdout) if holdout is not None else None,
            "model": str(model) if model is not None else None,
        },
        model=summary,
    )
