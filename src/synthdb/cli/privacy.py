"""``synthdb privacy MODEL``: a model's epsilon ledger, recomputed from its entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from synthdb.cli._session import errors, out
from synthdb.errors import UsageError


def privacy(
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
    with errors("privacy"):
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
        tables = ledger.tables()
        if tables:
            alone = ", ".join(f"{name} {value:.4f}" for name, value in tables.items())
            out.print(
                f"per table, each composed alone: {alone} (the total below composes them all "
                "in one Renyi-DP curve, less than their sum)",
                markup=False,
            )
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
