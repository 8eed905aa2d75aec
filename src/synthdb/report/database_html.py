"""The database report page: a summary over every table and relationship, the children-per-
parent pictures, then one section per table built from the single-table sections.

Same rules as :mod:`synthdb.report.html`: one self-contained page, pictures as ``data:`` URLs,
no script that runs, every user-supplied string escaped, the figures embedded as JSON. Each
table's sections receive that table's figures in the single-table layout (``table_reports``
entry plus its model summary), so a picture of a column looks the same in both reports.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from synthdb.report import figures
from synthdb.report.html import (
    CSS,
    Progress,
    _accuracy_section,
    _columns_section,
    _correlations_section,
    _embedded_json,
    _img,
    _methods,
    _num,
    _privacy_section,
    _rows,
    _slug,
    _training_section,
)
from synthdb.report.rules_html import rules_section
from synthdb.report.sequences_html import sequences_section

#: Sections of each table with columns besides keys, in page order.
TABLE_SECTIONS = (
    ("accuracy", "Accuracy"),
    ("columns", "Columns: real vs synthetic"),
    ("correlations", "Correlations"),
    ("privacy", "Privacy"),
    ("training", "Model and training"),
)

EXTRA_CSS = """
.summary-table td:first-child { font-weight: 600; }
.keys { color: var(--muted); font-size: 14px; }
"""


def relation_name(relation: dict[str, Any]) -> str:
    """``child(columns) -> parent``, as the CLI's table of relationships names it."""
    return f"{relation['child']}({', '.join(relation['columns'])}) -> {relation['parent']}"


def render_database(data: dict[str, Any], progress: Progress | None = None) -> str:
    """The page for the database report figures ``data`` (``DatabaseReport.to_dict()``)."""
    say = progress or (lambda message: None)
    meta = data["report"]
    name = str(meta.get("database") or "database")
    reports = data.get("table_reports", {})
    models = (data.get("model") or {}).get("tables") or {}
    n_pictures = len(data.get("relations", [])) + sum(
        len(r.get("columns", {}))
        + (4 if len(r.get("columns", {})) >= 2 else 0)
        + (1 if models.get(name) else 0)
        for name, r in reports.items()
    )
    say(f"drawing {n_pictures} pictures")
    slugs = _table_slugs([t["table"] for t in data.get("tables", [])])
    body = [
        _header(data, name, slugs),
        "<main>",
        _summary(data, slugs),
        _relations_section(data),
        sequences_section(data.get("sequences"), data.get("sequence_views")),
        rules_section(data.get("rules")),
        *(_table_section(data, table["table"], slugs[table["table"]]) for table in data["tables"]),
        _database_methods(),
        "</main>",
        f"<footer>Made by synthdb {escape(str(meta.get('synthdb', '')))} on "
        f"{escape(str(meta.get('created', '')))}. Every figure on this page is also in the "
        "JSON block at the end of the page and in the file written by <code>--json</code>."
        "</footer>",
        _embedded_json(data),
    ]
    title = f"synthdb report: {name}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _table_slugs(tables: list[str]) -> dict[str, str]:
    """A distinct anchor per table, even for names that differ only in case or punctuation."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for table in tables:
        slug = base = _slug(table)
        number = 2
        while slug in used:
            slug, number = f"{base}-{number}", number + 1
        used.add(slug)
        slugs[table] = slug
    return slugs


def _header(data: dict[str, Any], name: str, slugs: dict[str, str]) -> str:
    sources = data["report"].get("sources", {})
    tables = data.get("tables", [])
    real_rows = sum(t["real_rows"] for t in tables)
    synthetic_rows = sum(t["synthetic_rows"] for t in tables)
    parts = [
        f"real <code>{escape(str(sources.get('real')))}</code> "
        f"({len(tables)} tables, {real_rows:,} rows)",
        f"synthetic <code>{escape(str(sources.get('synthetic')))}</code> ({synthetic_rows:,} rows)",
    ]
    if sources.get("model"):
        parts.append(f"model <code>{escape(str(sources['model']))}</code>")
    links = [
        '<a href="#summary">Summary</a>',
        '<a href="#relationships">Children per parent</a>',
        *(f'<a href="#table-{slugs[t["table"]]}">{escape(t["table"])}</a>' for t in tables),
        '<a href="#methods">How to read this page</a>',
    ]
    return (
        f"<header>\n<h1>Synthetic database report: {escape(name)}</h1>\n"
        f'<p class="meta">{" · ".join(parts)}</p>\n'
        '<p class="legend">Colours in every picture: <span class="swatch real"></span>real '
        '<span class="swatch synthetic"></span>synthetic</p>\n'
        f"<nav>{''.join(links)}</nav>\n</header>"
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _summary(data: dict[str, Any], slugs: dict[str, str]) -> str:
    tables = data.get("tables", [])
    relations = data.get("relations", [])
    keys = data.get("keys", {})
    overall = _mean([t["overall"] for t in tables])
    related = _mean([r["accuracy"] for r in relations])
    model = data.get("model")
    cards = [
        '<div class="card"><h3>Accuracy</h3>'
        f'<div class="big">{_num(overall)}</div>'
        '<div class="good">mean over tables of each table\'s overall accuracy on its columns '
        "besides keys; 1 = the same binned distributions as the real data</div></div>",
        '<div class="card"><h3>Relationships</h3>'
        f'<div class="big">{_num(related)}</div>'
        f'<div class="good">mean over {len(relations)} relationships of the accuracy of '
        "children per parent row; 1 = parents have as many children as in the real data"
        "</div></div>",
        _model_card(model),
    ]
    table_rows = []
    for table in tables:
        name = table["table"]
        regenerated = keys.get(name, [])
        table_rows.append(
            [
                f'<a href="#table-{slugs[name]}">{escape(name)}</a>',
                f"{table['real_rows']:,}",
                f"{table['synthetic_rows']:,}",
                _num(table["overall"]) if table["overall"] is not None else _no_accuracy(table),
                _num(table["univariate"]),
                _num(table["bivariate"]),
                escape(", ".join(regenerated)) or "none",
            ]
        )
    relation_rows = [
        [
            escape(relation_name(r)),
            f"{r['distribution']['real_parents']:,} / {r['distribution']['synthetic_parents']:,}",
            _num(r["real_mean"], 2),
            _num(r["synthetic_mean"], 2),
            _num(r["accuracy"]),
        ]
        for r in relations
    ]
    notes = list(data.get("notes", [])) + list(data["report"].get("notes", []))
    note_html = (
        '<ul class="note">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    return (
        '<section id="summary" data-section="summary">\n<h2>Summary</h2>\n'
        f'<div class="cards">{"".join(cards)}</div>\n'
        "<h3>Tables</h3>"
        + _rows(
            table_rows,
            [
                "table",
                "rows real",
                "rows synthetic",
                "overall",
                "univariate",
                "bivariate",
                "keys (regenerated)",
            ],
            {1, 2, 3, 4, 5},
        ).replace("<table>", '<table class="summary-table">', 1)
        + '<p class="note">Accuracy per table compares the columns that are not keys, on every '
        "row. Keys are regenerated: the twin's identifiers are new by design, so their values "
        "are not compared; whether they link rows as the real ones do is the next table.</p>"
        "<h3>Relationships: children per parent row</h3>"
        + _rows(
            relation_rows,
            [
                "relationship",
                "parent rows real / synthetic",
                "mean real",
                "mean synthetic",
                "accuracy",
            ],
            {1, 2, 3, 4},
        )
        + expected_loss_html(model, tables)
        + note_html
        + "\n</section>"
    )


def expected_loss_html(model: dict[str, Any] | None, tables: list[dict[str, Any]]) -> str:
    """Under DP, each table's expected loss of accuracy (set before training, from released
    counts) beside the accuracy it got, so a reader sees whether a poor table was foreseen."""
    expected = (model or {}).get("privacy_expected") or {}
    if not expected:
        return ""
    scores = {t["table"]: t["overall"] for t in tables}
    rows = [
        [
            escape(name),
            f"{e['rows']:,}",
            str(e["columns"]),
            f"{e['signal']:,.0f}",
            escape(str(e["expected"])),
            _num(scores.get(name)),
        ]
        for name, e in expected.items()
    ]
    total = (model or {}).get("privacy_total")
    spent = f" The ledger's total: epsilon {total:.3g}." if isinstance(total, float) else ""
    return (
        "<h3>Differential privacy: the loss to expect per table</h3>"
        + _rows(
            rows,
            [
                "table",
                "rows (DP count)",
                "modelled columns",
                "rows x epsilon per column",
                "expected loss",
                "overall",
            ],
            {1, 2, 3, 5},
        )
        + '<p class="note">Set before training from released counts: the fewer rows times '
        "epsilon each modelled column gets, the more the noise hides. Larger epsilon, public "
        f"bounds or categories, or fewer columns help.{spent} Per-table and total epsilon: "
        "<code>synthdb privacy MODEL</code>.</p>"
    )


def _no_accuracy(table: dict[str, Any]) -> str:
    """Why a table has no accuracy: no rows on one side (nothing to compare), or no columns
    besides keys (nothing but keys, which are regenerated)."""
    return "empty" if not table["real_rows"] or not table["synthetic_rows"] else "keys only"


def _model_card(model: dict[str, Any] | None) -> str:
    if not model:
        return (
            '<div class="card"><h3>Model</h3><p class="good">no model file given (--model): '
            "training parameters and training curves are not shown.</p></div>"
        )
    trained = {name: t for name, t in (model.get("tables") or {}).items() if t}
    reasons: dict[str, int] = {}
    for table in trained.values():
        reason = str(table.get("stop_reason"))
        reasons[reason] = reasons.get(reason, 0) + 1
    seconds = sum(t.get("training_seconds") or 0.0 for t in trained.values())
    rows = [
        ["tables with a model", f"{len(trained)} of {len(model.get('tables') or {})}"],
        ["stop reasons", escape(", ".join(f"{k} ({v})" for k, v in sorted(reasons.items())))],
        ["training time", f"{seconds:.1f} s (sum over tables)"],
        ["purpose", escape(str((model.get("parameters") or {}).get("purpose")))],
    ]
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in model.get("notes") or [])
    return (
        '<div class="card"><h3>Model</h3>'
        + _rows(rows, ["", ""], set())
        + (f'<ul class="good">{notes}</ul>' if notes else "")
        + "</div>"
    )


def _relations_section(data: dict[str, Any]) -> str:
    relations = data.get("relations", [])
    if not relations:
        return (
            '<section id="relationships" data-section="relations">\n'
            '<h2>Children per parent row</h2>\n<p class="note">No relationships between the '
            "tables compared.</p>\n</section>"
        )
    pictures = []
    for relation in relations:
        name = relation_name(relation)
        picture = _img(
            figures.relation_figure(name, relation),
            f"children per parent row: {name}",
        )
        pictures.append(picture.replace("<figure", f'<figure data-relation="{escape(name)}"', 1))
    return (
        '<section id="relationships" data-section="relations">\n<h2>Children per parent row'
        "</h2>\n"
        '<p class="note">For every relationship: how many child rows point at each parent row, '
        "as shares of all parent rows (parents without children at 0). Accuracy is 1 minus the "
        "total variation distance of the two distributions, binned as a number column is. "
        "Counts beyond 30 are drawn in equal-width ranges.</p>"
        f'<div class="grid">{"".join(pictures)}</div>\n</section>'
    )


def _table_section(data: dict[str, Any], name: str, slug: str) -> str:
    table = next(t for t in data["tables"] if t["table"] == name)
    report = data.get("table_reports", {}).get(name)
    keys = data.get("keys", {}).get(name, [])
    model = ((data.get("model") or {}).get("tables") or {}).get(name)
    sampled = data.get("sampled", {}).get(name)
    facts = (
        f"{table['real_rows']:,} real rows, {table['synthetic_rows']:,} synthetic rows. "
        + (f"Keys (regenerated, not compared): {escape(', '.join(keys))}." if keys else "No keys.")
        + (
            f" The sections below compare seeded samples of {sampled:,} rows of each side."
            if sampled
            else ""
        )
    )
    head = (
        f'<section class="table" id="table-{slug}" data-table="{escape(name)}">\n'
        f'<h2>Table {escape(name)}</h2>\n<p class="keys">{facts}</p>\n'
    )
    if report is None and _no_accuracy(table) == "empty":
        sides = [side for side in ("real", "synthetic") if not table[f"{side}_rows"]]
        return (
            head + f'<p class="note">This table has no {" and no ".join(sides)} rows, so there is '
            "nothing to compare. A table without rows gets no model and is created empty in "
            "the twin, with its keys; so is a table whose foreign key may not be NULL and "
            "points at an empty table (the run's notes say which).</p>\n</section>"
        )
    if report is None:
        return (
            head
            + '<p class="note">This table holds only keys: what it says is in the children per '
            "parent pictures above. It has no model of its own; its rows are drawn with the "
            "relationships.</p>\n</section>"
        )
    table_data = dict(report)
    table_data["model"] = model
    builders: dict[str, Callable[[dict[str, Any]], str]] = {
        "accuracy": _accuracy_section,
        "columns": _columns_section,
        "correlations": _correlations_section,
        "privacy": _privacy_section,
        "training": _training_section,
    }
    parts = [
        f'<section id="{slug}-{section}" data-section="{section}">\n<h3>{heading}</h3>\n'
        f"{builders[section](table_data)}\n</section>"
        for section, heading in TABLE_SECTIONS
    ]
    return head + "\n".join(parts) + "\n</section>"


def _database_methods() -> str:
    html = _methods()
    extra = (
        "<dt><b>Children per parent</b></dt><dd>For each foreign key, the number of child rows "
        "pointing at each parent row, real against synthetic: 1 minus the total variation "
        "distance of the two distributions in 10 quantile bins of the real counts.</dd>"
        "<dt><b>Keys</b></dt><dd>Primary and foreign keys are regenerated in the twin. They are "
        "left out of every per-table figure, privacy included; the relationships above show "
        "whether they link rows as the real keys do.</dd>"
        "<dt><b>Privacy without a holdout</b></dt><dd>A database twin has no holdout, so the "
        "privacy section shows exact matches and distances to the real rows without a "
        "reference. A table of one or two columns with few values matches real rows exactly "
        "by necessity (a genre name is a genre name): read its exact-match share with that in "
        "mind.</dd>"
    )
    return html.replace("</dl>", extra + "</dl>", 1)
