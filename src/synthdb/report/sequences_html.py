"""The report's sequences section: coherence figures, the lengths histogram and a few real and
synthetic sequences side by side, for a table of sequences (``--sequence-key``) or a database's
ordered child tables.

Kept apart from :mod:`synthdb.report.html` (already long); the figures come from the JSON's
``sequences`` (coherence, :mod:`synthdb.evaluation.sequences`) and ``sequence_views`` keys.
"""

from __future__ import annotations

from html import escape
from typing import Any

from synthdb.report import figures


def sequences_section(
    coherence: list[dict[str, Any]] | None, views: list[dict[str, Any]] | None
) -> str:
    """The section, or nothing when no table is read as sequences."""
    if not coherence:
        return ""
    intro = (
        '<p class="note">Rows of one entity (or one parent row) read in order. Each figure is '
        "1 minus the total variation distance between real and synthetic (1 means the same), "
        "on our own bins (not mostlyai-qa's): lengths of the sequences, gaps between consecutive "
        "events, pairs of consecutive categories, distinct categories per sequence; for number "
        "columns, the lag-1 autocorrelation compared as 1 - |real - synthetic| / 2. "
        "<em>In order</em> is the share of sequences whose order column never decreases as the "
        "rows are written.</p>"
    )
    parts = [intro]
    by_table = {str(view.get("table", "")): view for view in views or []}
    for item in coherence:
        table = str(item.get("table", ""))
        parts.append(_figures_table(item))
        view = by_table.get(table) or (views[0] if views and len(coherence) == 1 else None)
        if view:
            parts.append(_pictures(view))
            parts.append(_examples(view))
    return (
        '<section id="sequences" data-section="sequences">\n<h2>Sequences</h2>\n'
        + "\n".join(parts)
        + "\n</section>"
    )


def _score(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def _figures_table(item: dict[str, Any]) -> str:
    order = ", ".join(item.get("order_by") or []) or "the rows' order"
    rows = [
        (
            "sequences (real / synthetic)",
            f"{item['real_sequences']:,} / {item['synthetic_sequences']:,}",
        ),
        (
            "in order (real / synthetic)",
            f"{_share(item.get('in_order_real'))} / {_share(item.get('in_order_synthetic'))}",
        ),
        ("lengths", _score(item.get("length"))),
        ("gaps between events", _score(item.get("gaps"))),
    ]
    for column, lag in (item.get("lag1") or {}).items():
        rows.append(
            (
                f"lag-1 autocorrelation of {column} (real / synthetic)",
                f"{_score(lag.get('real'))} / {_score(lag.get('synthetic'))} → "
                f"{_score(lag.get('score'))}",
            )
        )
    for column, value in (item.get("transitions") or {}).items():
        rows.append((f"consecutive {column} pairs", _score(value)))
    for column, value in (item.get("distinct") or {}).items():
        rows.append((f"distinct {column} per sequence", _score(value)))
    rows.append(("coherence (mean of the scores)", _score(item.get("coherence"))))
    body = "".join(
        f'<tr><td>{escape(label)}</td><td class="num">{escape(value)}</td></tr>'
        for label, value in rows
    )
    return (
        f"<h3>{escape(str(item.get('table', '')))} by {escape(str(item.get('parent', '')))}, "
        f"ordered by {escape(order)}</h3>\n"
        f'<div class="scroll"><table data-figure="coherence">{body}</table></div>'
    )


def _pictures(view: dict[str, Any]) -> str:
    images = [
        f'<figure><img src="{figures.sequence_lengths_figure(view)}" '
        'alt="histogram of sequence lengths, real and synthetic"></figure>'
    ]
    if view.get("along"):
        # wide: two panels side by side need the page's width to be read
        images.append(
            f'<figure class="wide"><img src="{figures.sequence_examples_figure(view)}" '
            f'alt="{escape(str(view["along"]))} along a few real and synthetic sequences">'
            "<figcaption>Sequences drawn at random among those at least as long as the real "
            "median.</figcaption></figure>"
        )
    return '<div data-figure="sequence-pictures">' + "".join(images) + "</div>"


def _examples(view: dict[str, Any]) -> str:
    columns = [str(c) for c in view.get("columns", [])]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    sides = []
    for side in ("real", "synthetic"):
        examples = view.get(f"{side}_examples") or []
        if not examples:
            continue
        first = examples[0]
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
            for row in first["rows"]
        )
        sides.append(
            f'<div><p class="note">{side}: the first rows of a sequence of '
            f'{first["length"]:,}</p><div class="scroll"><table>'
            f"<tr>{head}</tr>{body}</table></div></div>"
        )
    return '<div class="grid" data-figure="sequence-rows">' + "".join(sides) + "</div>"
