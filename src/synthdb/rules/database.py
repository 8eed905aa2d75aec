"""Rules across foreign keys: copies, lookups, totals, one value per parent, counts by kind.

- **copy / lookup** ``Invoice.BillingCity = Customer.City (via CustomerId)``: a child column
  equals a column of its parent, of an ancestor along a key path, or of a second parent (a
  *lookup* when the values are numbers: ``InvoiceLine.UnitPrice = Track.UnitPrice``).
- **total** ``Invoice.Total = sum(InvoiceLine.UnitPrice * Quantity) (via InvoiceId)``: a parent
  column is the sum over its children of a column, of the product of two, or their count.
- **one_per_parent** ``orders.ShipCity: one value per customers``: every child of a parent
  has the same value.
- **count_by_kind** ``disp: 1 row(s) with type = OWNER per account``: each parent has the same
  number of children of one category.
- **distinct_per_parent** ``order.k_symbol: distinct within each account``: no two children of
  a parent share a value (a composite unique key in all but name: one line per track in an
  invoice, one standing order of each purpose per account). The column may be a foreign key
  to a second parent (``InvoiceLine.TrackId``).

They work on the frames as read and as generated (keys included), comparing values as numbers
when both sides are numbers and as text otherwise, so a source whose keys and values arrive as
text (CSV) and one whose arrive typed (a database) find the same rules.

Discovery cost: copies pair every non-key column of a table with every non-key column of each
ancestor up to :data:`MAX_HOPS` keys away, first on :data:`SAMPLE_ROWS` rows; totals pair each
parent number with the count, each child number and each product of two child numbers (the
first :data:`MAX_FACTORS` numbers); all of them vectorised passes, so Chinook's 11 tables take
well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.rules.model import MIN_SHARE, Rule, passes, to_repair
from synthdb.schema.inference import infer_column, split_marked, to_epoch_seconds
from synthdb.schema.references import parent_positions
from synthdb.schema.relations import DatabaseSchema, ForeignKey, TableDef
from synthdb.schema.table import TableSchema
from synthdb.schema.values import source_column

#: Keys followed upwards when looking for copies: parents (1) and grandparents (2).
MAX_HOPS = 2
#: Rows tested per copy candidate before all rows are.
SAMPLE_ROWS = 5_000
#: Child numbers tried as factors of a total (pairs of them: this squared over two).
MAX_FACTORS = 12
#: Categories a column may have to be counted by kind per parent.
MAX_KINDS = 20
#: Parents with at least two children needed to call a column "one value per parent".
MIN_GROUPS = 10
#: Rows (or parents) a rule must be tested on before it counts as found.
MIN_ROWS = 20
#: Totals match to this much (money rounded to cents sums exactly to within it).
TOTAL_TOLERANCE = 0.005


@dataclass(frozen=True)
class _Step:
    """One foreign key followed upwards: ``table(columns) -> parent``."""

    table: str
    key: ForeignKey


class Positions:
    """Each row's parent position along key paths, computed once per path."""

    def __init__(
        self, schema: DatabaseSchema, frames: Mapping[str, pd.DataFrame], *, frozen: bool = True
    ) -> None:
        self.schema = schema
        self.frames = frames
        #: the frames do not change while this object is used, so column values may be cached
        #: (discovery and measurement; not while rules are being kept)
        self.frozen = frozen
        self._cache: dict[tuple[str, tuple[tuple[str, ...], ...]], np.ndarray] = {}
        self._values: dict[tuple[str, str], np.ndarray] = {}
        self._formats: dict[tuple[str, str], tuple[bool, str | None]] = {}

    def values(self, table: str, column: str) -> np.ndarray:
        """:func:`comparable` values of a column (cached while the frames are frozen)."""
        if not self.frozen:
            return comparable(self.frames[table][column])
        where = (table, column)
        if where not in self._values:
            self._values[where] = comparable(self.frames[table][column])
        return self._values[where]

    def moments(self, table: str, column: str, fmt: str | None) -> np.ndarray:
        """A datetime column as seconds since 1970 (NaN: NULL or no date in ``fmt``)."""
        if not self.frozen:
            return to_epoch_seconds(self.frames[table][column], fmt)
        where = (table, f"\x00{column}")
        if where not in self._values:
            self._values[where] = to_epoch_seconds(self.frames[table][column], fmt)
        return self._values[where]

    def datetime_format(self, table: str, column: str) -> tuple[bool, str | None]:
        """Whether a column holds datetimes (read off a sample), and their format."""
        where = (table, column)
        if where not in self._formats:
            values = self.frames[table][column]
            if len(values) > SAMPLE_ROWS:
                values = values.iloc[:: max(1, len(values) // SAMPLE_ROWS)]
            inferred = infer_column(column, values)
            fmt = inferred.datetime_format
            plain = inferred.kind == "datetime" and split_marked(fmt)[1] is None
            self._formats[where] = (plain, fmt)
        return self._formats[where]

    def steps(self, table: str, path: Sequence[Sequence[str]]) -> list[_Step] | None:
        out, current = [], table
        for columns in path:
            key = _key_of(self.schema.table(current), columns)
            if key is None:
                return None
            out.append(_Step(current, key))
            current = key.parent
        return out

    def parent_of(self, table: str, path: Sequence[Sequence[str]]) -> str:
        """The table the first key of ``path`` points at."""
        steps = self.steps(table, path[:1])
        assert steps is not None
        return steps[0].key.parent

    def along(self, table: str, path: Sequence[Sequence[str]]) -> np.ndarray:
        """Position in the last table of the path for each row of ``table`` (-1: none)."""
        where = (table, tuple(tuple(step) for step in path))
        if where in self._cache:
            return self._cache[where]
        steps = self.steps(table, path)
        if steps is None:
            raise KeyError(f"no foreign key path {path} from {table}")
        first = steps[0]
        parent_table = self.schema.table(first.key.parent)
        here = parent_positions(
            self.frames[table],
            first.key.columns,
            self.frames[first.key.parent],
            first.key.parent_columns or parent_table.primary_key,
        )
        if len(steps) > 1:
            upper = self.along(first.key.parent, path[1:])
            here = (
                np.where(here >= 0, upper[np.maximum(here, 0)], -1) if len(upper) else here * 0 - 1
            )
        self._cache[where] = here
        return here


def _key_of(table: TableDef, columns: Sequence[str]) -> ForeignKey | None:
    for key in table.foreign_keys:
        if list(key.columns) == list(columns):
            return key
    return None


def key_columns(table: TableDef) -> set[str]:
    return set(table.primary_key) | {c for key in table.foreign_keys for c in key.columns}


# ---------------------------------------------------------------------------- values
def comparable(values: pd.Series) -> np.ndarray:
    """Numbers as float64 (NaN for NULL) when every value is one, else text (None for NULL)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return _text(values.map(lambda v: None if _null(v) else str(bool(v))))
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not (
        pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)
    ):
        return _text(values)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum() and values.notna().any():
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return _text(values)


def _text(values: pd.Series) -> np.ndarray:
    """Values as Python strings, None for NULL (pandas' string dtype holds NaN there)."""
    missing = values.isna().to_numpy()
    out = np.array([str(v) for v in values.to_numpy(dtype=object)], dtype=object)
    out[missing] = None
    return out


def _null(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _numeric(values: np.ndarray) -> bool:
    return values.dtype.kind == "f"


def equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality, NULL equal to NULL; numbers to within rounding."""
    if _numeric(a) and _numeric(b):
        both_null = np.isnan(a) & np.isnan(b)
        close = np.isclose(a, b, rtol=1e-9, atol=1e-9)
        return both_null | close
    if _numeric(a) != _numeric(b):
        a, b = _as_text(a), _as_text(b)
    out = np.fromiter((x == y for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    return out


def _as_text(values: np.ndarray) -> np.ndarray:
    if not _numeric(values):
        return values
    return np.array(
        [
            None if np.isnan(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
            for v in values
        ],
        dtype=object,
    )


# ---------------------------------------------------------------------------- shares
def rule_share(rule: Rule, positions: Positions) -> float | None:
    """Share of the rows (parents for totals and counts) where ``rule`` holds; None if none."""
    frames = positions.frames
    if rule.table not in frames or (rule.related and rule.related not in frames):
        return None
    try:
        if rule.kind in ("copy", "lookup"):
            rows, held, _ = copy_rows(rule, positions)
            return float(held.mean()) if len(rows) else None
        if rule.kind == "total":
            current, wanted = total_values(rule, positions)
            return float(np.mean(_close(current, wanted))) if len(current) else None
        if rule.kind == "one_per_parent":
            _, held = per_parent_rows(rule, positions)
            return float(held.mean()) if len(held) else None
        if rule.kind == "count_by_kind":
            counts = kind_counts(rule, positions)
            return float(np.mean(counts == rule.count)) if len(counts) else None
        if rule.kind == "distinct_per_parent":
            _, held = distinct_rows(rule, positions)
            return float(held.mean()) if len(held) else None
        if rule.kind == "order_across":
            earlier, later, _ = order_rows(rule, positions)
            return float(np.mean(earlier <= later)) if len(earlier) else None
    except KeyError:
        return None
    return None


def copy_rows(rule: Rule, positions: Positions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with an ancestor, whether each keeps the copy, and the ancestor's value."""
    where = positions.along(rule.table, rule.path)
    rows = np.flatnonzero(where >= 0)
    child = positions.values(rule.table, rule.column)[rows]
    parent = positions.values(str(rule.related), str(rule.source))[where[rows]]
    return rows, equal(child, parent), parent


def order_rows(rule: Rule, positions: Positions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row with an ancestor and both dates: the ancestor's date, the row's, and the
    row's position."""
    ancestor_format, own_format = rule.formats or [None, None]
    where = positions.along(rule.table, rule.path)
    later = positions.moments(rule.table, rule.column, own_format)
    earlier = positions.moments(str(rule.related), str(rule.source), ancestor_format)
    rows = np.flatnonzero(where >= 0)
    first, second = earlier[where[rows]], later[rows]
    both = ~(np.isnan(first) | np.isnan(second))
    return first[both], second[both], rows[both]


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) <= TOTAL_TOLERANCE + 1e-9 * np.abs(b)


def total_values(rule: Rule, positions: Positions) -> tuple[np.ndarray, np.ndarray]:
    """Each parent's total column and the total of its children (parents with a value)."""
    child = str(rule.related)
    where = positions.along(child, rule.path)
    parents = len(positions.frames[rule.table])
    current = positions.values(rule.table, rule.column)
    if not _numeric(current):
        return np.zeros(0), np.zeros(0)
    weights = _child_terms(rule, positions)
    valid = (where >= 0) & ~np.isnan(weights)
    wanted = np.bincount(where[valid], weights=weights[valid], minlength=parents)
    present = ~np.isnan(current)
    return current[present], wanted[present]


def _child_terms(rule: Rule, positions: Positions) -> np.ndarray:
    child = str(rule.related)
    rows = len(positions.frames[child])
    if rule.source is None:
        return np.ones(rows)
    terms = positions.values(child, rule.source)
    if not _numeric(terms):
        return np.full(rows, np.nan)
    if rule.other is not None:
        other = positions.values(child, rule.other)
        terms = terms * (other if _numeric(other) else np.nan)
    return np.nan_to_num(terms, nan=0.0)


def per_parent_rows(rule: Rule, positions: Positions) -> tuple[np.ndarray, np.ndarray]:
    """Rows of parents with two or more children, and whether each has its parent's first
    child's value (the value all of them share where the rule holds)."""
    where = positions.along(rule.table, rule.path)
    values = positions.values(rule.table, rule.column)
    rows = np.flatnonzero(where >= 0)
    if not len(rows):
        return rows, np.zeros(0, dtype=bool)
    sizes = np.bincount(where[rows])
    rows = rows[sizes[where[rows]] >= 2]
    first = _first_of_group(where[rows], rows)
    return rows, equal(values[rows], values[first])


def _first_of_group(groups: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row, the first row (in ``rows`` order) of its group."""
    if not len(rows):
        return rows
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    first_in_sorted = np.repeat(rows[order][starts], np.diff(np.r_[starts, len(rows)]))
    out = np.empty_like(rows)
    out[order] = first_in_sorted
    return out


def distinct_rows(rule: Rule, positions: Positions) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a parent and a value, and whether each is the first of its parent's rows to
    hold that value (a row repeating a sibling's value breaks the rule)."""
    where = positions.along(rule.table, rule.path)
    values = positions.values(rule.table, rule.column)  # numbers as floats, others as text
    rows = np.flatnonzero((where >= 0) & pd.notna(pd.Series(values)).to_numpy())
    if not len(rows):
        return rows, np.zeros(0, dtype=bool)
    pairs = pd.DataFrame({"parent": where[rows], "value": values[rows]})
    return rows, ~pairs.duplicated().to_numpy()


def kind_counts(rule: Rule, positions: Positions) -> np.ndarray:
    """How many children of the rule's category each parent row has."""
    where = positions.along(rule.table, rule.path)
    values = positions.values(rule.table, rule.column)
    target = comparable(pd.Series([rule.value]))
    match = equal(values, np.repeat(target, len(values))) if len(values) else np.zeros(0, bool)
    parents = len(positions.frames[str(rule.related)])
    chosen = (where >= 0) & match
    return np.bincount(where[chosen], minlength=parents)


# ---------------------------------------------------------------------------- discovery
def discover_database_rules(
    schema: DatabaseSchema, frames: Mapping[str, pd.DataFrame], seed: int = 0
) -> list[Rule]:
    """Every copy, lookup, total, one-per-parent, count-by-kind and distinct-per-parent rule
    that holds."""
    positions = Positions(schema, frames)
    rng = np.random.default_rng(seed)
    found: list[Rule] = []
    for name in schema.order:
        if not len(frames[name]):
            continue
        copies = _discover_copies(name, positions, rng)
        found += copies
        found += _discover_orders_across(name, positions, rng)
        copied = {r.column for r in copies}
        for path in _paths(schema, name, 1):
            found += _discover_per_parent(name, path, positions, rng, copied)
            found += _discover_kind_counts(name, path, positions, rng)
            found += _discover_distinct(name, path, positions, rng, copied)
    for name in schema.order:
        for path in _paths(schema, name, 1):
            found += _discover_totals(name, path, positions, rng)
    return found


def _paths(schema: DatabaseSchema, table: str, hops: int) -> list[list[list[str]]]:
    """Key paths of up to ``hops`` keys from ``table`` upwards, self-references left out."""
    out: list[list[list[str]]] = []
    frontier: list[tuple[str, list[list[str]], set[str]]] = [(table, [], {table})]
    for _ in range(hops):
        following = []
        for current, path, seen in frontier:
            for key in schema.table(current).foreign_keys:
                if key.parent in seen:  # self-references and cycles
                    continue
                extended = [*path, list(key.columns)]
                out.append(extended)
                following.append((key.parent, extended, seen | {key.parent}))
        frontier = following
    return out


def _values(frame: pd.DataFrame, table: TableDef) -> list[str]:
    keys = key_columns(table)
    return [c for c in table.names if c not in keys and c in frame.columns]


def _discover_copies(table: str, positions: Positions, rng: np.random.Generator) -> list[Rule]:
    schema, frames = positions.schema, positions.frames
    frame = frames[table]
    own = [c for c in _values(frame, schema.table(table)) if frame[c].nunique() >= 2]
    found: list[Rule] = []
    done: set[str] = set()
    for path in _paths(schema, table, MAX_HOPS):
        steps = positions.steps(table, path)
        assert steps is not None
        ancestor = steps[-1].key.parent
        where = positions.along(table, path)
        rows = np.flatnonzero(where >= 0)
        if len(rows) < MIN_ROWS:
            continue
        probe = (
            rows
            if len(rows) <= SAMPLE_ROWS
            else np.sort(rng.choice(rows, SAMPLE_ROWS, replace=False))
        )
        upper = frames[ancestor]
        for column in own:
            if column in done:
                continue
            mine = positions.values(table, column)
            for source in _values(upper, schema.table(ancestor)):
                theirs = positions.values(ancestor, source)
                if _numeric(mine) != _numeric(theirs):
                    continue
                if np.mean(equal(mine[probe], theirs[where[probe]])) < MIN_SHARE:
                    continue
                held = equal(mine[rows], theirs[where[rows]])
                share = float(held.mean())
                shuffled = theirs[where[rng.permutation(rows)]]
                chance = float(np.mean(equal(mine[rows], shuffled)))
                if not passes(share, chance):
                    continue
                found.append(
                    Rule(
                        kind="lookup" if _numeric(mine) else "copy",
                        table=table,
                        column=column,
                        share=share,
                        source=source,
                        related=ancestor,
                        path=path,
                    )
                )
                done.add(column)
                break
    return found


def _discover_orders_across(
    table: str, positions: Positions, rng: np.random.Generator
) -> list[Rule]:
    """A child's date never before its parent's or grandparent's (a loan is granted after
    its account is opened): datetime columns only, the middle 80% of both overlapping, and
    chance (the ancestors shuffled) breaking it in 5% of rows or more. One rule per child
    column: the ancestor column it follows most closely (smallest median gap)."""
    schema, frames = positions.schema, positions.frames
    mine = [
        c
        for c in _values(frames[table], schema.table(table))
        if positions.datetime_format(table, c)[0]
    ]
    best: dict[str, tuple[float, Rule]] = {}
    for path in _paths(schema, table, MAX_HOPS) if mine else []:
        ancestor = positions.steps(table, path)[-1].key.parent  # type: ignore[index]
        theirs = [
            c
            for c in _values(frames[ancestor], schema.table(ancestor))
            if positions.datetime_format(ancestor, c)[0]
        ]
        for column in mine:
            for source in theirs:
                rule = Rule(
                    kind="order_across",
                    table=table,
                    column=column,
                    source=source,
                    related=ancestor,
                    path=path,
                    formats=[
                        positions.datetime_format(ancestor, source)[1],
                        positions.datetime_format(table, column)[1],
                    ],
                )
                earlier, later, _ = order_rows(rule, positions)
                if len(earlier) < MIN_ROWS or not _overlapping(earlier, later):
                    continue
                share = float(np.mean(earlier <= later))
                if share < MIN_SHARE or np.mean(earlier < later) < 0.01:
                    continue
                chance = float(np.mean(rng.permutation(earlier) <= later))
                if not passes(share, chance):
                    continue
                gaps = (later - earlier)[earlier <= later]
                rule.share = share
                rule.gaps = [float(g) for g in np.quantile(gaps, np.linspace(0.0, 1.0, 21))]
                median = float(np.median(gaps))
                if column not in best or median < best[column][0]:
                    best[column] = (median, rule)
    return [rule for _, rule in best.values()]


def _overlapping(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the middle 80% of two date columns overlap: an account opened in 1993-1997
    and a loan granted in 1993-1998 do; a birth date and a loan date do not, and their
    order says nothing."""
    low_a, high_a = np.quantile(a, [0.1, 0.9])
    low_b, high_b = np.quantile(b, [0.1, 0.9])
    return bool(max(low_a, low_b) <= min(high_a, high_b))


def keep_orders_across(
    rules: Sequence[Rule],
    schemas: Mapping[str, TableSchema],
    frames: dict[str, pd.DataFrame],
    schema: DatabaseSchema,
    rng: np.random.Generator,
) -> None:
    """Repair children dated before their ancestor (to about the source's share): the date
    becomes the ancestor's plus a gap drawn from the source's gaps, written in the child
    column's own format (``schemas``: each table's column schemas, as its model reads them).
    Parents first, so a grandchild follows its repaired parent."""
    order = {name: i for i, name in enumerate(schema.order)}
    mine = sorted(
        (r for r in rules if r.kind == "order_across" and _applies(r, frames)),
        key=lambda r: order.get(r.table, 0),
    )
    for rule in mine:
        table_schema = schemas.get(rule.table)
        if table_schema is None or rule.column not in table_schema.names:
            continue
        positions = Positions(schema, frames, frozen=False)
        earlier, later, rows = order_rows(rule, positions)
        broken = np.flatnonzero(earlier > later)
        fix = to_repair(broken, len(rows), rule.share, rng)
        if not len(fix):
            continue
        points = np.asarray(rule.gaps or [0.0], dtype=np.float64)
        gaps = np.interp(rng.uniform(0, 1, len(fix)), np.linspace(0, 1, len(points)), points)
        moved = pd.Series(earlier[fix] + gaps)
        written = source_column(moved, table_schema.column(rule.column))
        frame = frames[rule.table]
        values = frame[rule.column].to_numpy(dtype=object, na_value=None).copy()
        values[rows[fix]] = written.to_numpy(dtype=object, na_value=None)
        frame[rule.column] = _typed_like(values, frame[rule.column])


def _discover_totals(
    child: str, path: list[list[str]], positions: Positions, rng: np.random.Generator
) -> list[Rule]:
    schema, frames = positions.schema, positions.frames
    parent = positions.parent_of(child, path)
    if not len(frames[parent]):
        return []
    numbers = [
        c
        for c in _values(frames[parent], schema.table(parent))
        if _numeric(positions.values(parent, c)) and frames[parent][c].nunique() >= 2
    ]
    if not numbers:
        return []
    child_frame = frames[child]
    factors = [
        c
        for c in _values(child_frame, schema.table(child))
        if _numeric(positions.values(child, c)) and child_frame[c].nunique() >= 2
    ][:MAX_FACTORS]
    candidates: list[tuple[str | None, str | None]] = [(None, None)]
    candidates += [(c, None) for c in factors]
    candidates += [(a, b) for i, a in enumerate(factors) for b in factors[i + 1 :]]
    found: list[Rule] = []
    for column in numbers:
        for source, other in candidates:
            rule = Rule(
                kind="total",
                table=parent,
                column=column,
                source=source,
                other=other,
                related=child,
                path=path,
            )
            current, wanted = total_values(rule, positions)
            if len(current) < MIN_ROWS:
                break
            held = _close(current, wanted)
            share = float(held.mean())
            if share < MIN_SHARE:
                continue
            chance = float(np.mean(_close(current, rng.permutation(wanted))))
            if passes(share, chance):
                rule.share = share
                found.append(rule)
                break
    return found


def _discover_per_parent(
    child: str,
    path: list[list[str]],
    positions: Positions,
    rng: np.random.Generator,
    copied: set[str],
) -> list[Rule]:
    schema, frames = positions.schema, positions.frames
    parent = positions.parent_of(child, path)
    frame = frames[child]
    where = positions.along(child, path)
    rows = np.flatnonzero(where >= 0)
    if not len(rows):
        return []
    sizes = np.bincount(where[rows])
    if int((sizes >= 2).sum()) < MIN_GROUPS:
        return []
    found: list[Rule] = []
    for column in _values(frame, schema.table(child)):
        if column in copied or frame[column].nunique() < 2:
            continue
        rule = Rule(kind="one_per_parent", table=child, column=column, related=parent, path=path)
        shared, held = per_parent_rows(rule, positions)
        if len(held) < MIN_ROWS:
            continue
        share = float(held.mean())
        if share < MIN_SHARE:
            continue
        values = positions.values(child, column)
        shuffled = values.copy()
        shuffled[shared] = values[rng.permutation(shared)]
        first = _first_of_group(where[shared], shared)
        chance = float(np.mean(equal(shuffled[shared], shuffled[first])))
        if passes(share, chance):
            rule.share = share
            found.append(rule)
    return found


def _discover_distinct(
    child: str,
    path: list[list[str]],
    positions: Positions,
    rng: np.random.Generator,
    copied: set[str],
) -> list[Rule]:
    """Columns whose values never repeat among a parent's children: value columns, and the
    single-column foreign keys to other parents. Found only where enough parents have two or
    more children for a repeat to be possible, and where chance (the column shuffled among
    the rows) would repeat often enough for the rule to say something."""
    schema, frames = positions.schema, positions.frames
    parent = positions.parent_of(child, path)
    table = schema.table(child)
    frame = frames[child]
    where = positions.along(child, path)
    rows = np.flatnonzero(where >= 0)
    if not len(rows) or int((np.bincount(where[rows]) >= 2).sum()) < MIN_GROUPS:
        return []
    others = [
        k.columns[0]
        for k in table.foreign_keys
        if len(k.columns) == 1 and list(k.columns) != path[0] and k.parent != child
    ]
    found: list[Rule] = []
    for column in [*_values(frame, table), *others]:
        if column in copied or frame[column].nunique() < 2:
            continue
        rule = Rule(
            kind="distinct_per_parent", table=child, column=column, related=parent, path=path
        )
        kept, held = distinct_rows(rule, positions)
        if len(held) < MIN_ROWS:
            continue
        share = float(held.mean())
        if share < MIN_SHARE:
            continue
        values = positions.values(child, column)
        shuffled = pd.DataFrame(
            {"parent": where[kept], "value": values[kept][rng.permutation(len(kept))]}
        )
        chance = float(np.mean(~shuffled.duplicated().to_numpy()))
        if passes(share, chance):
            rule.share = share
            found.append(rule)
    return found


def _discover_kind_counts(
    child: str, path: list[list[str]], positions: Positions, rng: np.random.Generator
) -> list[Rule]:
    schema, frames = positions.schema, positions.frames
    parent = positions.parent_of(child, path)
    parents = len(frames[parent])
    if parents < MIN_ROWS:
        return []
    frame = frames[child]
    where = positions.along(child, path)
    found: list[Rule] = []
    for column in _values(frame, schema.table(child)):
        values = frame[column]
        distinct = values.dropna().unique()
        if not 2 <= len(distinct) <= MAX_KINDS:
            continue
        codes, kinds = pd.factorize(values)
        present = (where >= 0) & (codes >= 0)
        table = np.zeros((parents, len(kinds)), dtype=np.int64)
        np.add.at(table, (where[present], codes[present]), 1)
        shuffled = codes.copy()
        shuffled[present] = codes[present][rng.permutation(int(present.sum()))]
        chance_table = np.zeros_like(table)
        np.add.at(chance_table, (where[present], shuffled[present]), 1)
        for index, kind in enumerate(kinds):
            counts = table[:, index]
            mode = int(np.bincount(counts).argmax())
            if mode < 1:
                continue
            share = float(np.mean(counts == mode))
            chance = float(np.mean(chance_table[:, index] == mode))
            if passes(share, chance):
                found.append(
                    Rule(
                        kind="count_by_kind",
                        table=child,
                        column=column,
                        share=share,
                        related=parent,
                        path=path,
                        value=_plain(kind),
                        count=mode,
                    )
                )
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------- keeping
def keep_database_rules(
    rules: Sequence[Rule],
    schema: DatabaseSchema,
    frames: dict[str, pd.DataFrame],
    contexts: Mapping[str, Sequence[str]],
    rng: np.random.Generator,
) -> None:
    """Keep ``rules`` in the generated ``frames`` (changed in place), each in about its source
    share of rows.

    In this order: children counted by kind (relabelled, and for a key drawn among synthetic
    parents, re-pointed); values repeated among siblings (redrawn); copies and lookups,
    parents first, so a copy of a copy sees the final value; one value per parent; totals,
    children first, so a total of totals adds up.
    ``contexts`` names, per table, the key its rows were drawn under: those rows cannot move
    to another parent, other keys can.
    """
    order = {name: i for i, name in enumerate(schema.order)}
    for rule in (r for r in rules if r.kind == "count_by_kind"):
        if rule.table in frames and rule.related in frames:
            _keep_kind_count(rule, frames, schema, contexts, rng)
    positions = Positions(schema, frames, frozen=False)
    for rule in (r for r in rules if r.kind == "distinct_per_parent"):
        if _applies(rule, frames):
            counted = [
                r.value
                for r in rules
                if r.kind == "count_by_kind" and (r.table, r.column) == (rule.table, rule.column)
            ]
            # columns other rules of the table keep per parent: a donor row must not bring its
            # own values of them
            per_parent = {
                r.column
                for r in rules
                if r.table == rule.table
                and r.kind in ("count_by_kind", "one_per_parent", "distinct_per_parent")
            } - {rule.column}
            _keep_distinct(rule, positions, frames, counted, per_parent, rng)
    seen: set[tuple[str, str]] = set()
    for name in schema.order:  # parents first: a table's columns are final before it is copied
        for rule in rules:
            if rule.table != name or not _applies(rule, frames):
                continue
            if rule.kind in ("copy", "lookup"):
                rows, held, _ = copy_rows(rule, positions)
                fix = to_repair(np.flatnonzero(~held), len(rows), rule.share, rng)
                where = positions.along(rule.table, rule.path)
                source = frames[str(rule.related)][str(rule.source)]
                _assign(frames, rule.table, rule.column, rows[fix], source, where[rows[fix]])
        for rule in rules:
            if rule.table != name or rule.kind != "one_per_parent" or not _applies(rule, frames):
                continue
            if (rule.table, rule.column) in seen:
                continue  # one parent per column: two would pull it two ways
            seen.add((rule.table, rule.column))
            rows, held = per_parent_rows(rule, positions)
            fix = to_repair(np.flatnonzero(~held), len(rows), rule.share, rng)
            where = positions.along(rule.table, rule.path)
            first = _first_of_group(where[rows], rows)
            frame = frames[rule.table]
            _assign(frames, rule.table, rule.column, rows[fix], frame[rule.column], first[fix])
    totals = sorted(
        (r for r in rules if r.kind == "total"), key=lambda r: -order.get(str(r.related), 0)
    )
    for rule in totals:
        if _applies(rule, frames):
            _keep_total(rule, positions, frames, rng)


def _applies(rule: Rule, frames: Mapping[str, pd.DataFrame]) -> bool:
    return (
        rule.table in frames
        and rule.column in frames[rule.table]
        and (rule.related is None or rule.related in frames)
        and len(frames[rule.table]) > 0
    )


def _assign(
    frames: dict[str, pd.DataFrame],
    table: str,
    column: str,
    rows: np.ndarray,
    source: pd.Series,
    positions: np.ndarray,
) -> None:
    """``frames[table][column]`` at ``rows`` set to ``source`` at ``positions``, keeping the
    column's type where the values allow."""
    if not len(rows):
        return
    frame = frames[table]
    values = frame[column].to_numpy(dtype=object, na_value=None).copy()
    values[rows] = source.to_numpy(dtype=object, na_value=None)[positions]
    frame[column] = _typed_like(values, frame[column])


def _typed_like(values: np.ndarray, like: pd.Series) -> pd.Series:
    series = pd.Series(values, index=like.index)
    try:
        if pd.api.types.is_integer_dtype(like.dtype) and series.isna().any():
            return series.astype("Int64")
        return series.astype(like.dtype)
    except (TypeError, ValueError):
        return series


def _keep_total(
    rule: Rule, positions: Positions, frames: dict[str, pd.DataFrame], rng: np.random.Generator
) -> None:
    child = str(rule.related)
    where = positions.along(child, rule.path)
    frame = frames[rule.table]
    current = comparable(frame[rule.column])
    if not _numeric(current):
        return
    terms = _child_terms(rule, positions)
    valid = where >= 0
    wanted = np.bincount(where[valid], weights=terms[valid], minlength=len(frame))
    present = np.flatnonzero(~np.isnan(current))
    broken = present[~_close(current[present], wanted[present])]
    fix = to_repair(broken, len(present), rule.share, rng)
    if not len(fix):
        return
    updated = current.copy()
    updated[fix] = np.round(wanted[fix], 6)
    frame[rule.column] = (
        _typed_like(updated.astype(object), frame[rule.column])
        if not pd.api.types.is_float_dtype(frame[rule.column].dtype)
        else pd.Series(updated, index=frame.index)
    )


def _keep_distinct(
    rule: Rule,
    positions: Positions,
    frames: dict[str, pd.DataFrame],
    counted: Sequence[Any],
    per_parent: set[str],
    rng: np.random.Generator,
) -> None:
    """A child repeating a sibling's value trades places with a row of another parent (see
    below), or takes another row's values; values a count-by-kind rule counts on the same
    column are never taken, so that rule stays kept. Repaired only up to the rule's source
    share; a child with no value left to take keeps its own."""
    rows, held = distinct_rows(rule, positions)
    fix = rows[to_repair(np.flatnonzero(~held), len(rows), rule.share, rng)]
    if not len(fix):
        return
    frame = frames[rule.table]
    where = positions.along(rule.table, rule.path)
    values = positions.values(rule.table, rule.column)
    text = values.astype(object)  # hashable, compared as the rule compares them
    counted_rows = np.zeros(len(values), dtype=bool)
    for value in counted:
        target = comparable(pd.Series([value]))
        counted_rows |= equal(values, np.repeat(target, len(values)))
    # donors: rows that keep their own values (a row being repaired is no donor)
    repaired = np.zeros(len(values), dtype=bool)
    repaired[fix] = True
    pool = np.flatnonzero(pd.notna(pd.Series(text)).to_numpy() & ~counted_rows & ~repaired)
    if not len(pool):
        return
    taken: dict[int, set[Any]] = {}
    for row in rows[held]:
        taken.setdefault(int(where[row]), set()).add(text[row])
    # First a swap: the repeated row trades its values with a row of another parent where
    # both then fit, so each parent holds the other's value once and the column's
    # distribution (and every row's own values) stay as drawn. Where no partner is found in
    # a few draws, the row copies a fitting row instead (the distribution shifts a little).
    source = np.full(len(frame), -1, dtype=np.int64)  # the row whose values a row takes
    free = ~repaired
    firsts = pool[~pd.Series(text[pool]).duplicated().to_numpy()]
    tries = 32
    for row in fix:
        parent, value = int(where[row]), text[row]
        mine = taken.setdefault(parent, set())
        for candidate in rng.choice(pool, tries):
            other, home = text[candidate], int(where[candidate])
            if not free[candidate] or home == parent or other in mine or other == value:
                continue
            theirs = taken.setdefault(home, set())
            if value in theirs:
                continue
            source[row], source[candidate] = candidate, row
            free[candidate] = False
            text[row], text[candidate] = other, value
            mine.add(other)
            theirs.discard(other)
            theirs.add(value)
            break
        else:
            left = [int(c) for c in firsts if free[c] and text[c] not in mine]
            if not left:
                continue
            chosen = left[int(rng.integers(len(left)))]
            source[row] = chosen
            text[row] = text[chosen]
            mine.add(text[chosen])
    # A row takes the values of every column that is not a key (a key column is the rule's
    # own column only for a second parent's key) nor kept per parent by another rule: it stays
    # a row the model drew, so an order's amount still fits its purpose.
    table = positions.schema.table(rule.table)
    keys = (key_columns(table) | per_parent) - {rule.column}
    moved = np.flatnonzero(source >= 0)
    for column in [c for c in frame.columns if c not in keys]:
        original = frame[column].to_numpy(dtype=object, na_value=None)
        values = original.copy()
        values[moved] = original[source[moved]]
        frame[column] = _typed_like(values, frame[column])


def _keep_kind_count(
    rule: Rule,
    frames: dict[str, pd.DataFrame],
    schema: DatabaseSchema,
    contexts: Mapping[str, Sequence[str]],
    rng: np.random.Generator,
) -> None:
    """Each parent gets ``rule.count`` children of the category (in about the rule's share of
    parents): by relabelling children within their parent when they were drawn under it, or by
    re-pointing the key of children of that category when the key was drawn afterwards."""
    positions = Positions(schema, frames, frozen=False)
    table, parent = rule.table, str(rule.related)
    frame = frames[table]
    where = positions.along(table, rule.path).copy()
    values = comparable(frame[rule.column])
    target = comparable(pd.Series([rule.value]))
    match = equal(values, np.repeat(target, len(values)))
    parents = len(frames[parent])
    wanted = int(rule.count or 0)
    if parents == 0 or wanted < 1:
        return
    counts = np.bincount(where[(where >= 0) & match], minlength=parents)
    broken = np.flatnonzero(counts != wanted)
    fixing = to_repair(broken, parents, rule.share, rng)
    if not len(fixing):
        return
    raw = frame[rule.column].to_numpy(dtype=object, na_value=None).copy()
    others = raw[~match & pd.notna(pd.Series(raw)).to_numpy()]
    category = frame[rule.column][match].iloc[0] if match.any() else rule.value
    drawn_under = list(contexts.get(table, ())) == list(rule.path[0])
    if drawn_under:
        for position in fixing:
            mine = np.flatnonzero(where == position)
            have = mine[match[mine]]
            if len(have) > wanted and len(others):
                extra = rng.choice(have, len(have) - wanted, replace=False)
                raw[extra] = rng.choice(others, len(extra))
                match[extra] = False
            elif len(have) < wanted:
                spare = mine[~match[mine]]
                take = rng.choice(spare, min(len(spare), wanted - len(have)), replace=False)
                raw[take] = category
                match[take] = True
    else:
        # parents that keep the rule already, or are about to, keep their rows of the kind
        fixing_set = counts == wanted
        fixing_set[fixing] = True
        # rows of the category free to move: beyond the count at a fixed parent, or at none
        pool: list[int] = []
        for position in fixing:
            have = np.flatnonzero((where == position) & match)
            if len(have) > wanted:
                pool += list(rng.choice(have, len(have) - wanted, replace=False))
        slots = np.concatenate(
            [np.repeat(p, max(0, wanted - int(counts[p]))) for p in fixing]
            or [np.zeros(0, np.int64)]
        ).astype(np.int64)
        loose = np.flatnonzero(match & ((where < 0) | ~fixing_set[np.maximum(where, 0)]))
        pool_array = np.asarray(pool, dtype=np.int64)
        movable = np.concatenate([pool_array, rng.permutation(loose)])
        if len(movable) < len(slots):
            spare = np.flatnonzero(~match)
            extra = rng.choice(spare, min(len(spare), len(slots) - len(movable)), replace=False)
            raw[extra] = category
            match[extra] = True
            movable = np.concatenate([movable, extra])
        moved = movable[: len(slots)]
        where[moved] = rng.permutation(slots)[: len(moved)]
        left = pool_array[~np.isin(pool_array, moved)]
        if len(left):  # too many at a fixed parent and no empty slot: point them elsewhere
            elsewhere = np.flatnonzero(~fixing_set)
            if len(elsewhere):
                where[left] = rng.choice(elsewhere, len(left))
            elif len(others):
                raw[left] = rng.choice(others, len(left))
        _point(frames, table, rule.path[0], parent, where, schema)
    frame[rule.column] = _typed_like(raw, frame[rule.column])


def _point(
    frames: dict[str, pd.DataFrame],
    table: str,
    columns: Sequence[str],
    parent: str,
    where: np.ndarray,
    schema: DatabaseSchema,
) -> None:
    """Write foreign key ``columns`` of ``table`` to point at parent rows ``where``."""
    key = _key_of(schema.table(table), columns)
    assert key is not None
    parent_columns = key.parent_columns or schema.table(parent).primary_key
    frame = frames[table]
    for child_column, parent_column in zip(key.columns, parent_columns, strict=True):
        source = frames[parent][parent_column]
        values = source.to_numpy(dtype=object, na_value=None)[np.maximum(where, 0)]
        values[where < 0] = None
        frame[child_column] = _typed_like(values, frame[child_column])
