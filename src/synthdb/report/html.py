"""One self-contained HTML page from the report's JSON figures.

Self-contained means: CSS inline, pictures as ``data:`` URLs, no script that runs, no font,
style sheet or image fetched from anywhere, so the page opens offline, from an e-mail
attachment, or on a machine that may not reach the internet. The figures are also embedded as
JSON (a ``<script type="application/json">`` block, which browsers never execute) so that a
saved page still carries its numbers.

Layout: a page-level summary, then the table's section, its sequences (for a table of
sequences) and its rules. A whole database's page (:mod:`synthdb.report.database_html`) has the
same shape with one section per table and a relationships part.
Every user-supplied string (column names, values, paths) is escaped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from synthdb.report import figures
from synthdb.report.model import LEDGER_KEYS, ledger_entries
from synthdb.report.rules_html import rules_section
from synthdb.report.sequences_html import sequences_section

Progress = Callable[[str], None]

#: Sections of each table, in page order: (data-section name, heading).
TABLE_SECTIONS = (
    ("accuracy", "Accuracy"),
    ("columns", "Columns: real vs synthetic"),
    ("correlations", "Correlations"),
    ("privacy", "Privacy"),
    ("utility", "ML utility"),
    ("training", "Model and training"),
)

#: The rules behind the marks next to privacy figures; the page prints them too.
DCR_OK, DCR_WATCH = 0.05, 0.10
NNDR_OK, NNDR_WATCH = 0.90, 0.75

CSS = """
:root { --real: REAL_COLOUR; --synthetic: SYNTHETIC_COLOUR; --ink: #1d2430; --muted: #5b6472;
  --line: #dde2ea; --card: #f6f8fb; --ok: #2a7a3f; --watch: #a66300; --risk: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 12px; padding-top: 8px; border-top: 2px solid var(--ink); }
h3 { font-size: 17px; margin: 28px 0 8px; }
.meta, .note, figcaption, .good { color: var(--muted); font-size: 13px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 12px 0; font-size: 14px; }
nav a { color: var(--ink); }
.legend { font-size: 14px; margin: 8px 0 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  vertical-align: -1px; margin: 0 4px 0 12px; }
.swatch.real { background: var(--real); margin-left: 0; }
.swatch.synthetic { background: var(--synthetic); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(270px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; }
.card h3 { margin: 0 0 8px; font-size: 16px; }
.big { font-size: 30px; font-weight: 700; line-height: 1.1; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mark { font-weight: 700; white-space: nowrap; }
.mark.ok { color: var(--ok); } .mark.watch { color: var(--watch); }
.mark.risk { color: var(--risk); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr));
  gap: 18px 22px; }
.grid.matrices { grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; display: block; }
.wide img { max-width: 100%; }
.scroll { overflow-x: auto; }
code { font-size: 13px; background: var(--card); padding: 0 3px; border-radius: 3px; }
footer { max-width: 1240px; margin: 40px auto; padding: 12px 24px; color: var(--muted);
  font-size: 13px; border-top: 1px solid var(--line); }
""".replace("SYNTHETIC_COLOUR", figures.SYNTHETIC).replace("REAL_COLOUR", figures.REAL)


def render(data: dict[str, Any], progress: Progress | None = None) -> str:
    """The page for the report figures ``data`` (``Report.to_dict()``)."""
    say = progress or (lambda message: None)
    meta = data["report"]
    table = str(meta.get("table") or "table")
    n_columns = len(data.get("columns", {}))
    say(f"drawing {n_columns + 5} pictures")
    body = [
        _header(data, table),
        "<main>",
        _summary(data),
        _table_section(data, table),
        sequences_section(data.get("sequences"), data.get("sequence_views")),
        rules_section(data.get("rules")),
        _methods(),
        "</main>",
        f"<footer>Made by synthdb {escape(str(meta.get('synthdb', '')))} on "
        f"{escape(str(meta.get('created', '')))}. Every figure on this page is also in the "
        "JSON block at the end of the page and in the file written by <code>--json</code>."
        "</footer>",
        _embedded_json(data),
    ]
    title = f"synthdb report: {table}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------------------- formatting
def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def _rows(rows: Iterable[Sequence[str]], header: Sequence[str], numeric: set[int]) -> str:
    """A table; cells are HTML already (callers escape user text)."""
    head = "".join(
        f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>"
        for i, h in enumerate(header)
    )
    lines = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(lines)}</table></div>'


def _mark(status: str | None, *, short: bool = False) -> str:
    words = {"ok": "✓ fine", "watch": "! check", "risk": "✗ risk"}
    if status is None:
        return ""
    text = words[status].split()[0] if short else words[status]
    return f'<span class="mark {status}" title="{words[status]}">{text}</span>'


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def _img(source: str, alt: str, caption: str = "", wide: bool = False) -> str:
    caption_html = f"<figcaption>{caption}</figcaption>" if caption else ""
    css = ' class="wide"' if wide else ""
    return f'<figure{css}><img src="{source}" alt="{escape(alt)}">{caption_html}</figure>'


# ---------------------------------------------------------------------------------- header
def _header(data: dict[str, Any], table: str) -> str:
    meta = data["report"]
    sources = meta.get("sources", {})
    rows = data.get("rows", {})
    parts = [
        f"real <code>{escape(str(sources.get('real')))}</code> ({rows.get('real', 0):,} rows)",
        f"synthetic <code>{escape(str(sources.get('synthetic')))}</code> "
        f"({rows.get('synthetic', 0):,} rows)",
    ]
    if sources.get("holdout"):
        parts.append(
            f"holdout <code>{escape(str(sources['holdout']))}</code> "
            f"({rows.get('holdout', 0):,} rows)"
        )
    if sources.get("model"):
        parts.append(f"model <code>{escape(str(sources['model']))}</code>")
    slug = _slug(table)
    links = ['<a href="#summary">Summary</a>'] + [
        f'<a href="#{slug}-{name}">{heading}</a>' for name, heading in TABLE_SECTIONS
    ]
    links.append('<a href="#methods">How to read this page</a>')
    return (
        f"<header>\n<h1>Synthetic data report: {escape(table)}</h1>\n"
        f'<p class="meta">{" · ".join(parts)}</p>\n'
        '<p class="legend">Colours in every picture: <span class="swatch real"></span>real '
        '<span class="swatch synthetic"></span>synthetic</p>\n'
        f"<nav>{''.join(links)}</nav>\n</header>"
    )


# --------------------------------------------------------------------------------- summary
def _summary(data: dict[str, Any]) -> str:
    cards = [
        _accuracy_card(data),
        _privacy_card(data.get("privacy")),
        _utility_card(data.get("utility")),
        _model_card(data.get("model")),
    ]
    notes = list(data.get("notes", [])) + list(data["report"].get("notes", []))
    note_html = (
        '<ul class="note">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    return (
        '<section id="summary" data-section="summary">\n<h2>Summary</h2>\n'
        f'<div class="cards">{"".join(cards)}</div>\n{note_html}\n</section>'
    )


def _accuracy_card(data: dict[str, Any]) -> str:
    holdout = data.get("holdout")
    rows = []
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        row = [key, _num(data.get(key))]
        if holdout:
            row.append(_num(holdout.get(key)))
        rows.append(row)
    header = ["", "synthetic"] + (["holdout ceiling"] if holdout else [])
    ceiling = (
        "The holdout ceiling is the same measure for real rows the model never saw. A holdout "
        "smaller than the synthetic table carries more sampling noise, so synthetic data can "
        "score a little above it; well above it would be suspicious."
        if holdout
        else "Pass --holdout to see the ceiling: real rows the model never saw."
    )
    return (
        '<div class="card"><h3>Accuracy</h3>'
        f'<div class="big">{_num(data.get("overall"))}</div>'
        '<div class="good">overall: 1 = the same binned distributions as the real data</div>'
        f'{_rows(rows, header, {1, 2})}<div class="good">{ceiling}</div></div>'
    )


def privacy_checks(privacy: dict[str, Any]) -> list[dict[str, Any]]:
    """The privacy figures with their reference, what good looks like, and a mark."""
    dcr = privacy.get("dcr_share")
    exact, exact_holdout = (
        privacy.get("exact_match_share"),
        privacy.get("exact_match_share_holdout"),
    )
    nndr, nndr_holdout = privacy.get("nndr_synthetic"), privacy.get("nndr_holdout")
    dcr_status = None
    if dcr is not None:
        distance = abs(dcr - 0.5)
        dcr_status = "ok" if distance <= DCR_OK else "watch" if distance <= DCR_WATCH else "risk"
    exact_status = None
    if exact is not None:
        base = exact_holdout if exact_holdout is not None else 0.0
        exact_status = (
            "ok"
            if exact <= max(2 * base, base + 0.005)
            else "watch"
            if exact <= base + 0.05
            else "risk"
        )
    nndr_status = None
    if nndr is not None and nndr_holdout:
        ratio = nndr / nndr_holdout
        nndr_status = "ok" if ratio >= NNDR_OK else "watch" if ratio >= NNDR_WATCH else "risk"
    return [
        {
            "name": "DCR share",
            "value": _num(dcr),
            "reference": "0.500 (ideal)",
            "good": "about 0.5: synthetic rows are as close to unseen real rows as to training "
            "rows. Near 1: they copy or hug training rows."
            + ("" if dcr is not None else " Needs --holdout."),
            "status": dcr_status,
        },
        {
            "name": "exact-match share",
            "value": _pct(exact, 2),
            "reference": f"{_pct(exact_holdout, 2)} (holdout)",
            "good": "about the holdout's own rate: real people who share every value with "
            "someone in the training data. Well above it: training rows are copied.",
            "status": exact_status,
        },
        {
            "name": "nearest-neighbour distance ratio",
            "value": _num(nndr),
            "reference": f"{_num(nndr_holdout)} (holdout)",
            "good": "not much lower than the holdout's: a low ratio means a synthetic row "
            "sits much closer to one training row than to any other, singling a person out.",
            "status": nndr_status,
        },
    ]


def _privacy_card(privacy: dict[str, Any] | None) -> str:
    if not privacy:
        return '<div class="card"><h3>Privacy</h3><p class="good">not measured</p></div>'
    rows = [
        [
            check["name"],
            f"{check['value']} {_mark(check['status'], short=True)}",
            check["reference"],
        ]
        for check in privacy_checks(privacy)
    ]
    return (
        '<div class="card"><h3>Privacy risk</h3>'
        f'<div class="big">{_num(privacy.get("dcr_share"))}</div>'
        '<div class="good">DCR share: about 0.5 is good</div>'
        f"{_rows(rows, ['', 'synthetic', 'reference'], {1, 2})}"
        '<div class="good">Rules for the marks: see the Privacy section.</div></div>'
    )


def _utility_card(utility: dict[str, Any] | None) -> str:
    if not utility:
        return (
            '<div class="card"><h3>ML utility</h3><p class="good">not measured: pass '
            "--target COLUMN and --holdout to train a model on synthetic rows and test it on "
            "real ones.</p></div>"
        )
    gap = None
    if utility.get("synthetic") is not None and utility.get("real") is not None:
        gap = utility["synthetic"] - utility["real"]
    return (
        f'<div class="card"><h3>ML utility: {escape(str(utility["target"]))}</h3>'
        f'<div class="big">{_num(utility.get("synthetic"))}</div>'
        f'<div class="good">{escape(utility["metric"])} on the holdout of a model trained on '
        "synthetic rows</div>"
        + _rows(
            [
                ["trained on synthetic", _num(utility.get("synthetic"))],
                ["trained on real", _num(utility.get("real"))],
                ["difference", "n/a" if gap is None else f"{gap:+.3f}"],
            ],
            ["", escape(utility["metric"])],
            {1},
        )
        + '<div class="good">Good: close to the real-trained model.</div></div>'
    )


def _model_card(model: dict[str, Any] | None) -> str:
    if not model:
        return (
            '<div class="card"><h3>Model</h3><p class="good">no model file given (--model): '
            "training parameters and the training curve are not shown.</p></div>"
        )
    rows = [
        ["stop reason", escape(str(model.get("stop_reason")))],
        ["epochs used", f"{model.get('epochs_used')} of at most {model.get('max_epochs')}"],
        [
            "best epoch",
            f"{model.get('best_epoch')} (last: no validation under DP)"
            if model.get("privacy")
            else f"{model.get('best_epoch')} (val. accuracy {_num(model.get('best_accuracy'))})",
        ],
        ["training time", f"{_num(model.get('training_seconds'), 1)} s"],
        ["NULL policy", _null_summary(model.get("nulls"))],
    ]
    privacy = model.get("privacy")
    if privacy:
        rows.append(["differential privacy", escape(_privacy_total(privacy))])
    else:
        rows.append(["differential privacy", "off"])
    return f'<div class="card"><h3>Model</h3>{_rows(rows, ["", ""], set())}</div>'


def _null_summary(nulls: dict[str, Any] | None) -> str:
    if not nulls:
        return "n/a"
    policy = escape(str(nulls.get("policy")))
    if nulls.get("policy") == "drop" and nulls.get("estimated"):
        return f"{policy}: rows with a NULL removed, about {nulls.get('rows_after', 0):,} left"
    if nulls.get("policy") == "drop":
        return (
            f"{policy}: {nulls.get('rows_dropped', 0):,} of {nulls.get('rows_before', 0):,} "
            "rows dropped"
        )
    if nulls.get("policy") == "replace":
        cells = sum((nulls.get("cells_replaced") or {}).values())
        return f"{policy}: {cells:,} cells replaced"
    return f"{policy}: NULL learned as a value"


def _privacy_total(privacy: dict[str, Any]) -> str:
    parts = [
        f"{key.replace('_', ' ')} {_plain(privacy[key])}"
        for key in ("total_epsilon", "epsilon", "epsilon_spent", "target_epsilon", "delta")
        if isinstance(privacy.get(key), int | float)
    ]
    return ", ".join(parts) if parts else "on (see the ledger)"


# ---------------------------------------------------------------------------- table section
def _table_section(data: dict[str, Any], table: str) -> str:
    slug = _slug(table)
    builders: dict[str, Callable[[dict[str, Any]], str]] = {
        "accuracy": _accuracy_section,
        "columns": _columns_section,
        "correlations": _correlations_section,
        "privacy": _privacy_section,
        "utility": _utility_section,
        "training": _training_section,
    }
    parts = [
        f'<section id="{slug}-{name}" data-section="{name}">\n<h3>{heading}</h3>\n'
        f"{builders[name](data)}\n</section>"
        for name, heading in TABLE_SECTIONS
    ]
    return (
        f'<section class="table" id="table-{slug}" data-table="{escape(table)}">\n'
        f"<h2>Table {escape(table)}</h2>\n" + "\n".join(parts) + "\n</section>"
    )


def _accuracy_section(data: dict[str, Any]) -> str:
    columns = list(data.get("per_column", {}))
    holdout = data.get("holdout") or {}
    held = holdout.get("per_column", {})
    distributions = data.get("columns", {})
    rows = []
    for name in columns:
        dist = distributions.get(name, {})
        rows.append(
            [
                escape(name),
                escape(str(dist.get("kind", ""))),
                _num(data["per_column"][name]),
                _num(held.get(name)) if holdout else "",
                _pct(dist.get("null_real")),
                _pct(dist.get("null_synthetic")),
            ]
        )
    header = [
        "column",
        "kind",
        "accuracy",
        "holdout" if holdout else "",
        "NULL real",
        "NULL synthetic",
    ]
    worst = sorted(((v, k) for k, v in data.get("per_pair", {}).items() if v is not None))[:5]
    worst_html = ""
    if worst:
        worst_html = (
            "<p>Weakest column pairs: "
            + ", ".join(f"{escape(k.replace('|', ' & '))} ({v:.3f})" for v, k in worst)
            + ".</p>"
        )
    picture = ""
    if len(columns) >= 2:
        matrix = figures.pair_matrix(columns, data.get("per_pair", {}), data["per_column"])
        values = [v for row in matrix for v in row if v is not None]
        low = min(0.9, min(values)) if values else 0.0
        picture = _img(
            figures.heatmap(
                columns,
                matrix,
                "bivariate accuracy per column pair (diagonal: per column)",
                colour_label="accuracy (1 - TVD)",
                low=round(low - 0.005, 2),
            ),
            "heat map of bivariate accuracy",
            "Each cell: accuracy of the joint distribution of two columns, binned. Dark cells "
            "are the pairs the synthetic data gets least right.",
        )
    return (
        '<p class="note">Accuracy is 1 minus the total variation distance between real and '
        "synthetic shares of binned values: 10 quantile bins per number or date, the 10 most "
        "frequent categories plus other, NULL its own bin (DESIGN.md section 5).</p>"
        + _rows(rows, header, {2, 3, 4, 5})
        + worst_html
        + picture
    )


def _columns_section(data: dict[str, Any]) -> str:
    pictures = []
    for name, column in data.get("columns", {}).items():
        accuracy = data.get("per_column", {}).get(name)
        pictures.append(
            _img(figures.column_figure(name, column, accuracy), f"distribution of {name}")
        )
    return (
        '<p class="note">Shares of all rows; histograms span the middle 99% of the real '
        "values (values beyond fall into the outer bars); categories show the 20 most "
        "frequent real values and (other).</p>"
        f'<div class="grid">{"".join(pictures)}</div>'
    )


def _correlations_section(data: dict[str, Any]) -> str:
    matrices = data.get("associations")
    if not matrices or len(matrices["columns"]) < 2:
        return '<p class="note">Needs at least two columns.</p>'
    columns = matrices["columns"]
    pictures = [
        _img(
            figures.heatmap(columns, matrices["real"], "real", colour_label="Cramér's V"),
            "association matrix of the real data",
        ),
        _img(
            figures.heatmap(columns, matrices["synthetic"], "synthetic", colour_label="Cramér's V"),
            "association matrix of the synthetic data",
        ),
        _img(
            figures.heatmap(
                columns,
                matrices["difference"],
                "difference (synthetic - real)",
                colour_label="difference",
                diverging=True,
            ),
            "difference of the association matrices",
        ),
    ]
    return (
        f'<p class="note">Strength of association of every column pair: '
        f"{escape(matrices['measure'])}, from 0 (independent) to 1 (one column determines "
        "the other); it works for numbers and categories alike. Red in the difference: the "
        "synthetic data links two columns more strongly than the real data; blue: less.</p>"
        f'<div class="grid matrices">{"".join(pictures)}</div>'
    )


def _privacy_section(data: dict[str, Any]) -> str:
    privacy = data.get("privacy")
    if not privacy:
        return '<p class="note">Not measured.</p>'
    rows = [
        [
            check["name"],
            check["value"],
            escape(check["reference"]),
            escape(check["good"]),
            _mark(check["status"]),
        ]
        for check in privacy_checks(privacy)
    ]
    rows.append(
        [
            "median distance to closest training row",
            _num(privacy.get("dcr_synthetic")),
            f"{_num(privacy.get('dcr_holdout'))} (holdout)",
            "about the holdout's: smaller means synthetic rows sit closer to training rows than "
            "new real people do.",
            "",
        ]
    )
    return (
        _rows(rows, ["measure", "synthetic", "reference", "what good looks like", ""], {1, 2})
        + '<p class="note">Distances mix column kinds: a number counts by how far apart the two '
        "values rank among the real values (0 to 1), a category counts 1 when it differs; every "
        f"column weighs the same. {privacy.get('synthetic_rows', 0):,} synthetic rows were "
        f"compared with {privacy.get('reference_rows', 0):,} training rows"
        + (" and as many holdout rows" if privacy.get("dcr_share") is not None else "")
        + (" (seeded samples)" if privacy.get("sampled") else "")
        + "; exact matches are counted on all rows. Marks: DCR share within "
        f"{DCR_OK} of 0.5 fine, within {DCR_WATCH} check; exact matches at most twice the "
        "holdout's rate (or 0.5 points above it) fine, up to 5 points above check; NNDR at least "
        f"{NNDR_OK:.0%} of the holdout's fine, {NNDR_WATCH:.0%} check. These measures bound "
        "nothing: differential privacy (epsilon) is the guarantee, they are the check.</p>"
    )


def _utility_section(data: dict[str, Any]) -> str:
    utility = data.get("utility")
    if not utility:
        return (
            '<p class="note">Not measured: pass <code>--target COLUMN</code> and '
            "<code>--holdout</code>.</p>"
        )
    rows = [
        ["target", escape(str(utility["target"]))],
        ["task", escape(str(utility["task"]))],
        ["positive class", escape(str(utility.get("positive")))]
        if utility.get("positive") is not None
        else ["classes", escape(", ".join(utility.get("classes") or []) or "n/a")],
        [f"{escape(utility['metric'])}, trained on synthetic", _num(utility.get("synthetic"))],
        [f"{escape(utility['metric'])}, trained on real", _num(utility.get("real"))],
        [
            "rows: synthetic / real / holdout (test)",
            f"{utility['train_rows_synthetic']:,} / {utility['train_rows_real']:,} / "
            f"{utility['test_rows']:,}",
        ],
        ["model", escape(str(utility["model"]))],
    ]
    notes = "".join(f"<li>{escape(n)}</li>" for n in utility.get("notes", []))
    return (
        _rows(rows, ["", ""], {1})
        + '<p class="note">Train on synthetic, test on real: one model learns the target from '
        "the synthetic rows, another from the real training rows, and both predict the holdout. "
        "Good: the synthetic-trained score is close to the real-trained one.</p>"
        + (f'<ul class="note">{notes}</ul>' if notes else "")
    )


def _training_section(data: dict[str, Any]) -> str:
    model = data.get("model")
    if not model:
        return (
            '<p class="note">No model file given: pass <code>--model FILE.synthdb</code> to '
            "show the training parameters, the stop reason and the training curve.</p>"
        )
    parts = []
    history = model.get("history") or []
    # under DP no loss or validation figure is recorded (each is an exact function of the
    # data; the summary holds None for them): the curve to show is the budget spent
    measured = any(isinstance(r.get("loss"), int | float) for r in history)
    if history and not measured and model.get("epsilon_by_epoch"):
        parts.append(
            _img(
                figures.epsilon_figure(model["epsilon_by_epoch"]),
                "privacy budget spent",
                "Epsilon spent after each epoch, everything on the ledger composed. Losses and "
                "validation accuracy are not recorded under differential privacy: each is an "
                "exact function of the data, outside the budget.",
            )
        )
    elif measured:
        parts.append(
            _img(
                figures.training_figure(model["history"], model.get("epsilon_by_epoch")),
                "training curve",
                "Loss on training and validation rows, and the accuracy of rows generated after "
                "each epoch against the validation rows; the kept epoch is marked."
                + (" Right: epsilon spent so far." if model.get("epsilon_by_epoch") else ""),
                wide=True,
            )
        )
    summary = [
        ["stop reason", escape(str(model.get("stop_reason")))],
        ["epochs used", f"{model.get('epochs_used')} of at most {model.get('max_epochs')}"],
        ["best epoch", str(model.get("best_epoch"))],
        [
            "validation accuracy of the best epoch",
            "none under DP (the last epoch is kept)"
            if model.get("privacy")
            else _num(model.get("best_accuracy"), 4),
        ],
        ["training seconds", _num(model.get("training_seconds"), 1)],
        ["batch size", str(model.get("batch_size"))],
        ["NULL policy", _null_summary(model.get("nulls"))],
    ]
    parts.append("<h4>Run</h4>" + _rows(summary, ["", ""], set()))
    parameters = model.get("parameters") or {}
    parts.append(
        "<h4>Training parameters</h4>"
        + _rows(
            [[escape(str(k)), escape(_plain(v))] for k, v in parameters.items()],
            ["parameter", "value"],
            set(),
        )
    )
    parts.append(_nulls_detail(model.get("nulls")))
    parts.append(_privacy_ledger(model.get("privacy")))
    return "\n".join(p for p in parts if p)


def _nulls_detail(nulls: dict[str, Any] | None) -> str:
    if not nulls:
        return ""
    rows = [
        ["policy", escape(str(nulls.get("policy")))],
        [
            "rows before / after",
            f"{nulls.get('rows_before', 0):,} / {nulls.get('rows_after', 0):,}",
        ],
        [
            "rows dropped",
            "not recorded under DP"
            if nulls.get("estimated")
            else f"{nulls.get('rows_dropped', 0):,}",
        ],
    ]
    for column, count in (nulls.get("cells_replaced") or {}).items():
        value = (nulls.get("replaced_with") or {}).get(column)
        rows.append(
            [
                f"cells replaced in {escape(str(column))}",
                f"{count:,} (with {escape(_plain(value))})",
            ]
        )
    for warning in nulls.get("warnings") or []:
        rows.append(["warning", escape(str(warning))])
    return "<h4>NULL policy</h4>" + _rows(rows, ["", ""], set())


def _privacy_ledger(privacy: dict[str, Any] | None) -> str:
    """The differential-privacy account, shown generically: scalars, then the ledger entries."""
    if not privacy:
        return (
            '<h4>Differential privacy</h4><p class="note">Off: this model was trained without '
            "a privacy budget, so there is no epsilon ledger.</p>"
        )
    scalars = [
        [escape(str(k)), escape(_plain(v))]
        for k, v in privacy.items()
        if k not in LEDGER_KEYS and not isinstance(v, dict | list)
    ]
    html = "<h4>Differential privacy</h4>" + _rows(scalars, ["", ""], set())
    ledger = [entry for entry in ledger_entries(privacy) if isinstance(entry, dict)]
    if ledger:
        keys: list[str] = []
        for entry in ledger:
            keys.extend(k for k in entry if k not in keys)
        html += "<p>Epsilon ledger: every mechanism that touched the data and its share.</p>"
        html += _rows(
            [[escape(_plain(entry.get(k, ""))) for k in keys] for entry in ledger],
            [escape(k) for k in keys],
            set(),
        )
    return html


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------------------------- methods
def _methods() -> str:
    items = [
        (
            "Accuracy",
            "1 minus the total variation distance between real and synthetic shares "
            "of binned values, per column (univariate), per pair of columns (bivariate) and per "
            "triple (trivariate); overall is the mean of univariate and bivariate. 1 is perfect; "
            "the holdout ceiling shows what a fresh sample of real data scores (with the sampling "
            "noise of the holdout's size).",
        ),
        (
            "DCR share",
            "For each synthetic row: is its closest training row nearer than its "
            "closest holdout row? The share of yes (ties count half). 0.5 means the model learned "
            "the population, not the people; near 1 means it reproduces training rows.",
        ),
        (
            "Exact-match share",
            "Synthetic rows identical to a training row in every column. "
            "Compare with the holdout's rate: real data repeats itself too.",
        ),
        (
            "Nearest-neighbour distance ratio",
            "Distance to the closest training row divided by "
            "distance to the second closest, median over rows. Near 0: a row pins down one real "
            "person. Compare with the holdout's ratio.",
        ),
        (
            "ML utility",
            "A gradient-boosted model trained on synthetic rows and one trained on "
            "real rows, both scored on the holdout: ROC AUC for two classes (the rarer class "
            "positive), accuracy for more, R^2 for numbers.",
        ),
        ("Correlations", "Bias-corrected Cramér's V between the binned columns, for every pair."),
    ]
    rows = "".join(f"<dt><b>{name}</b></dt><dd>{text}</dd>" for name, text in items)
    return (
        '<section id="methods" data-section="methods">\n<h2>How to read this page</h2>\n'
        f"<dl>{rows}</dl>\n</section>"
    )


def _embedded_json(data: dict[str, Any]) -> str:
    # "</script" or "<!--" inside the block would change how the browser parses it, and a
    # column named "<img ...>" must not look like markup to anyone scanning the page; JSON may
    # spell every "<" as an escape instead.
    text = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="report-data">{text}</script>'
