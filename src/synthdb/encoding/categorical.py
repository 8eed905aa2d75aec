"""Categories (and booleans) as one token each, with rare values pooled.

Values seen fewer than ``rare_min_count`` times share one ``<rare>`` token: the network then
never has to learn (or could memorise) a value held by one or two people. When the token is
generated we draw one of the pooled values in proportion to its count, so the output stays
realistic for testing. Under differential privacy (:meth:`CategoricalEncoder.fit_private`)
the vocabulary is the values whose noisy counts clear a stability threshold, so a value held
by one row never appears except with probability delta; the rest share the placeholder
:data:`RARE`, drawn back as itself. A boolean's two values are public (the schema's
spelling), so its counts need no threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnStatistics, SubColumn
from synthdb.encoding.private import Declared, NoisyCounts, PrivateFit
from synthdb.schema.table import ColumnSchema

#: Beyond this many distinct categories the tail is pooled: it keeps the output layer small.
MAX_CATEGORIES = 1000
#: What a category below the DP vocabulary threshold is generated as.
RARE = "_RARE_"


@dataclass
class CategoricalEncoder:
    column: str
    categories: list[str]
    has_null: bool = False
    rare_values: list[str] = field(default_factory=list)
    rare_counts: list[int] = field(default_factory=list)
    kind: str = "categorical"

    @classmethod
    def fit(cls, column: str, values: pd.Series, *, rare_min_count: int = 3) -> CategoricalEncoder:
        return cls.from_counts(
            column,
            values.dropna().value_counts(sort=True),
            has_null=bool(values.isna().any()),
            rare_min_count=rare_min_count,
        )

    @classmethod
    def from_counts(
        cls, column: str, counts: pd.Series, *, has_null: bool, rare_min_count: int = 3
    ) -> CategoricalEncoder:
        """The encoder from each value's row count (indexed by value), as :meth:`fit` reads
        them off the rows: a table streamed in chunks adds its chunks' counts up, and gets
        the encoder a table in memory would."""
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        common = counts[counts >= rare_min_count]
        if len(common) > MAX_CATEGORIES:
            common = common.iloc[:MAX_CATEGORIES]
        rare = counts[~counts.index.isin(common.index)]
        return cls(
            column=column,
            categories=[str(v) for v in common.index],
            has_null=has_null,
            rare_values=[str(v) for v in rare.index],
            rare_counts=[int(c) for c in rare.to_numpy()],
        )

    @classmethod
    def fit_private(
        cls,
        column: ColumnSchema,
        values: pd.Series,
        counts: NoisyCounts,
        rows: float,
        *,
        keep_nulls: bool,
        declared: Declared | None = None,
    ) -> PrivateFit:
        """The encoder from noisy counts of ``values`` (``rows`` is the DP row count); NULL
        gets a token of its own only with ``keep_nulls`` and a NULL count above the noise.
        Declared categories are used as given: nothing is released."""
        if declared is not None and declared.categories is not None:
            categories = list(declared.categories)
            encoder = cls(
                column.name,
                categories,
                keep_nulls,
                rare_values=[RARE],
                rare_counts=[1],
                kind=column.kind,
            )
            mode = categories[0] if categories else None
            return PrivateFit(encoder, [None], ColumnStatistics(0.0, mode))
        present = values.dropna()
        null_count = len(values) - len(present)
        rare: list[str]
        if column.kind == "boolean":
            domain = column.boolean_tokens or ["False", "True"]
            observed = present.value_counts()
            raw = np.array([observed.get(v, 0) for v in domain] + [null_count], dtype=np.float64)
            noisy = counts.cells(f"{column.name}: counts of {domain} + NULLs", raw)
            categories, released, nulls = list(domain), noisy[:-1], float(noisy[-1])
            rare = []
        else:
            kept, nulls = counts.vocabulary(
                f"{column.name}: vocabulary + NULLs", present, null_count
            )
            items = list(kept.items())[:MAX_CATEGORIES]
            categories = [str(k) for k, _ in items]
            released = np.array([v for _, v in items], dtype=np.float64)
            rare = [RARE]
        has_null = keep_nulls and nulls > counts.empty_below()
        encoder = cls(
            column.name,
            categories,
            has_null,
            rare_values=rare,
            rare_counts=[1] * len(rare),
            kind=column.kind,
        )
        parts = [np.array([max(nulls, 0.0)])] if has_null else []
        parts.append(np.clip(released, 0.0, None))
        if rare:
            rest = rows - float(np.clip(released, 0, None).sum()) - max(nulls, 0.0)
            parts.append(np.array([max(rest, 0.0)]))
        mode = categories[int(np.argmax(released))] if len(categories) else None
        return PrivateFit(encoder, [np.concatenate(parts)], ColumnStatistics(nulls, mode))

    @staticmethod
    def private_releases(column: ColumnSchema, declared: Declared | None) -> tuple[int, int]:
        """(thresholded, all) histograms :meth:`fit_private` releases at most: a boolean's
        counts, or a thresholded vocabulary unless the categories are declared."""
        if column.kind == "boolean":
            return 0, 1
        if declared is not None and declared.categories is not None:
            return 0, 0
        return 1, 1

    @staticmethod
    def statistics(column: ColumnSchema, values: pd.Series) -> ColumnStatistics:
        """Exact NULL count and most frequent value (ties: the value that sorts first): what
        ``--nulls replace`` reads without DP. None when nothing is to be replaced, or all is."""
        missing = values.isna()
        nulls = int(missing.sum())
        if nulls == 0 or nulls == len(values):
            return ColumnStatistics(nulls)
        counts = values.dropna().value_counts()
        top = counts[counts == counts.max()].index
        return ColumnStatistics(nulls, sorted(str(v) for v in top)[0])

    @property
    def _offset(self) -> int:
        return 1 if self.has_null else 0

    @property
    def cardinality(self) -> int:
        return self._offset + len(self.categories) + (1 if self.rare_values else 0)

    @property
    def sub_columns(self) -> list[SubColumn]:
        return [SubColumn(self.column, max(self.cardinality, 1))]

    def encode(self, values: pd.Series) -> np.ndarray:
        nulls = values.isna().to_numpy()
        # -1 for values outside the categories (pd.Categorical would warn, and later raise)
        known = pd.Index(self.categories, dtype=object).get_indexer(values.astype(object))
        codes = known.astype(np.int64) + self._offset
        unseen = (known < 0) & ~nulls
        codes[unseen] = self._offset + len(self.categories) if self.rare_values else self._offset
        codes[nulls] = 0
        return codes[:, None]

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = tokens[:, 0]
        table = np.empty(self.cardinality + 1, dtype=object)
        table[:] = None
        table[self._offset : self._offset + len(self.categories)] = self.categories
        out = table[np.clip(codes, 0, self.cardinality)]
        if self.rare_values:
            rare = codes == self._offset + len(self.categories)
            if rare.any():
                weights = np.asarray(self.rare_counts, dtype=np.float64)
                picks = rng.choice(
                    len(self.rare_values), size=int(rare.sum()), p=weights / weights.sum()
                )
                out[rare] = np.asarray(self.rare_values, dtype=object)[picks]
        return pd.Series(out, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
