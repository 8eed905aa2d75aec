"""Rich tables for what ``inspect``, ``evaluate`` and ``run`` print on stdout."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from synthdb.schema.inference import split_marked
from synthdb.schema.table import ColumnSchema, TableSchema


def schema_table(schema: TableSchema, *, counts: bool = True) -> Table:
    """The schema as a table. ``counts=False`` (a DP model, whose file keeps no exact counts)
    shows the row count as the DP estimate it is and no distinct or NULL counts."""
    rows = f"{schema.rows:,} rows" if counts else f"about {schema.rows:,} rows (DP estimate)"
    grid = Table(title=f"{schema.name}: {rows}", title_justify="left")
    for header in ("column", "kind", "details", "distinct", "nulls"):
        grid.add_column(header)
    for column in schema.columns:
        grid.add_row(
            column.name,
            column.kind,
            _details(column),
            f"{column.distinct:,}" if counts else "-",
            f"{column.null_count:,}" if counts else "-",
        )
    return grid


def _details(column: ColumnSchema) -> str:
    details: list[str] = []
    if column.kind == "numeric":
        if column.integer:
            details.append("integer")
        elif column.decimals is not None:
            places = "place" if column.decimals == 1 else "places"
            details.append(f"decimal ({column.decimals} {places})")
        else:
            details.append("decimal")
        if column.minimum is not None and column.maximum is not None:
            details.append(f"{column.minimum:g} .. {column.maximum:g}")
    elif column.kind == "datetime":
        details.append(_datetime_details(column))
    elif column.kind == "boolean" and column.boolean_tokens:
        details.append("/".join(column.boolean_tokens))
    elif column.kind == "key":
        details.append(f"{column.key_format}, regenerated unique")
    elif column.kind == "constant":
        details.append(f"always {column.constant!r}")
    if column.storage != "text":
        details.append(f"stored as {column.storage}")
    return ", ".join(details)


#: How the digits-only date formats read to a person (the strftime pattern alone is cryptic).
_COMPACT_DATES = {"%y%m%d": "YYMMDD", "%Y%m%d": "YYYYMMDD"}


def _datetime_details(column: ColumnSchema) -> str:
    """The format values are written in: the strftime pattern, digits-only dates spelled out
    (with the storage they go back into), and the fraction digits kept."""
    fmt, offset = split_marked(column.datetime_format)
    if fmt is None:
        text = column.storage
    elif fmt in _COMPACT_DATES:
        where = "text" if column.storage == "text" else "numbers"
        marked = "" if offset is None else f", month + {offset} on some rows"
        text = f"{column.datetime_format} ({_COMPACT_DATES[fmt]} {where}{marked})"
    else:
        text = fmt
    if column.fraction_digits is not None:
        text += f", {column.fraction_digits}-digit fractions of a second"
    return text


def accuracy_table(report: dict[str, Any]) -> Table:
    holdout = report.get("holdout")
    grid = Table(
        title="accuracy (1 - total variation distance of binned columns)", title_justify="left"
    )
    grid.add_column("measure")
    grid.add_column("synthetic", justify="right")
    if holdout:
        grid.add_column("holdout ceiling", justify="right")
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        if report.get(key) is None:
            continue
        row = [key, f"{report[key]:.4f}"]
        if holdout:
            row.append(f"{holdout[key]:.4f}" if holdout.get(key) is not None else "")
        grid.add_row(*row)
    return grid


def privacy_table(report: dict[str, Any]) -> Table:
    """Privacy risk and ML utility, each beside the reference that says what good looks like."""
    grid = Table(title="privacy risk and ML utility", title_justify="left")
    for header in ("measure", "synthetic", "reference", "good"):
        grid.add_column(header, justify="left" if header in ("measure", "good") else "right")
    privacy = report.get("privacy") or {}

    def number(value: float | None, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    grid.add_row("DCR share", number(privacy.get("dcr_share")), "0.500", "about 0.5")
    grid.add_row(
        "exact-match share",
        number(privacy.get("exact_match_share"), 4),
        number(privacy.get("exact_match_share_holdout"), 4),
        "about the holdout's",
    )
    grid.add_row(
        "nearest-neighbour distance ratio",
        number(privacy.get("nndr_synthetic")),
        number(privacy.get("nndr_holdout")),
        "not much below the holdout's",
    )
    utility = report.get("utility")
    if utility:
        grid.add_row(
            f"{utility['metric']} for {utility['target']} (trained on synthetic)",
            number(utility.get("synthetic")),
            number(utility.get("real")),
            "close to trained on real",
        )
    return grid


def rules_table(rules: list[dict[str, Any]], *, title: str = "rules kept") -> Table:
    """Each rule with its share of rows in the source and in the twin (``--json``'s ``rules``);
    ``inspect`` passes rules without a twin share, and the column is left out."""
    twin = any("synthetic_share" in rule for rule in rules)
    grid = Table(title=f"{title} (share of rows where each holds)", title_justify="left")
    grid.add_column("rule")
    grid.add_column("kind")
    grid.add_column("source", justify="right")
    if twin:
        grid.add_column("twin", justify="right")
    for rule in rules:
        source = rule.get("source_share", rule.get("share"))
        cells = [str(rule["rule"]), str(rule.get("kind", "")), _share(source)]
        if twin:
            cells.append(_share(rule.get("synthetic_share")))
        grid.add_row(*cells)
    return grid


def _share(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def summary_table(
    real: dict[str, int] | None,
    synthetic: dict[str, int],
    accuracy: dict[str, float | None] | None = None,
) -> Table:
    """Rows per table of a database (source, twin) and each table's accuracy, in the order of
    ``synthetic``."""
    table = Table(title="rows per table")
    table.add_column("table")
    if real is not None:
        table.add_column("source", justify="right")
    table.add_column("synthetic", justify="right")
    if accuracy is not None:
        table.add_column("accuracy", justify="right")
    for name, rows in synthetic.items():
        cells = [name]
        if real is not None:
            cells.append(f"{real[name]:,}")
        cells.append(f"{rows:,}")
        if accuracy is not None:
            value = accuracy.get(name)
            empty = rows == 0 or (real is not None and real[name] == 0)
            cells.append(f"{value:.4f}" if value is not None else "empty" if empty else "keys only")
        table.add_row(*cells)
    return table


def sequences_table(sequences: list[Any]) -> Table:
    """Coherence of each ordered table's sequences (evaluation/sequences.py)."""
    grid = Table(title="sequences (coherence: 1 is the source's)", title_justify="left")
    for header in ("table", "ordered by", "in order", "lengths", "gaps", "along", "coherence"):
        grid.add_column(header, justify="left" if header in ("table", "ordered by") else "right")

    def share(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for entry in sequences:
        item = entry if isinstance(entry, dict) else entry.to_dict()
        along = [v["score"] for v in item["lag1"].values() if v.get("score") is not None]
        along += [*item["transitions"].values(), *item["distinct"].values()]
        grid.add_row(
            f"{item['table']} per {item['parent']}",
            ", ".join(item["order_by"]) or "the rows' order",
            f"{share(item['in_order_synthetic'])} ({share(item['in_order_real'])})",
            score(item["length"]),
            score(item["gaps"]),
            score(sum(along) / len(along)) if along else "-",
            score(item["coherence"]),
        )
    return grid


def relations_table(relations: list[dict[str, Any]]) -> Table:
    """Children per parent row of every relationship (``DatabaseAccuracy.to_dict()``'s)."""
    table = Table(title="children per parent row (1 - TVD of binned counts)")
    for column, justify in (
        ("relation", "left"),
        ("source mean", "right"),
        ("synthetic mean", "right"),
        ("accuracy", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]

    def number(value: float | None, places: int) -> str:
        return "nan" if value is None else f"{value:.{places}f}"  # JSON has no NaN

    for relation in relations:
        table.add_row(
            f"{relation['child']}({', '.join(relation['columns'])}) -> {relation['parent']}",
            number(relation["real_mean"], 2),
            number(relation["synthetic_mean"], 2),
            number(relation["accuracy"], 4),
        )
    return table
