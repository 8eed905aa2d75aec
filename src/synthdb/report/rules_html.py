"""The report's rules section: each rule with its share of rows in the source and the twin.

Kept apart from :mod:`synthdb.report.html` (already long) and shared by the table and the
database pages, which both carry the figures under the ``rules`` key of their JSON.
"""

from __future__ import annotations

from html import escape
from typing import Any

#: A twin share this far below the source's is marked as a rule the twin breaks.
SHORTFALL = 0.01


def rules_section(rules: list[dict[str, Any]] | None) -> str:
    """A section listing every rule, or saying that none was found."""
    intro = (
        '<p class="note">Facts the source keeps in (nearly) every row, found in its data: '
        "copies along foreign keys, lookups, totals, order between columns, columns determined "
        "by another, one value per parent, children counted by kind. The twin should keep each "
        "in about the same share of rows; a rule it keeps less often is marked.</p>"
    )
    if not rules:
        body = '<p class="note">No rule was found in the source.</p>'
    else:
        lines = []
        for rule in rules:
            source, twin = rule.get("source_share"), rule.get("synthetic_share")
            short = source is not None and twin is not None and twin < source - SHORTFALL
            mark = ' <span class="mark risk" title="kept less often than in the source">✗</span>'
            lines.append(
                "<tr>"
                f"<td>{escape(str(rule['rule']))}</td><td>{escape(str(rule.get('kind', '')))}</td>"
                f'<td class="num">{_pct(source)}</td>'
                f'<td class="num">{_pct(twin)}{mark if short else ""}</td>'
                "</tr>"
            )
        body = (
            '<div class="scroll"><table><tr><th>rule</th><th>kind</th>'
            '<th class="num">source</th><th class="num">twin</th></tr>'
            + "".join(lines)
            + "</table></div>"
        )
    return (
        '<section id="rules" data-section="rules">\n<h2>Rules</h2>\n'
        + intro
        + body
        + "\n</section>"
    )


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"
