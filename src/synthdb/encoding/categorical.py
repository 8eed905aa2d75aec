"""Categories (and booleans) as one token each, with rare values pooled.

Values seen fewer than ``rare_min_count`` times share one ``<rare>`` token: the network then
never has to learn (or could memorise) a value held by one or two people. When the token is
generated we draw one of the pooled values in proportion to its count, so the output stays
realistic for testing; differential privacy (a later stage) replaces this with a DP vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import SubColumn

#: Beyond this many distinct categories the tail is pooled: it keeps the output layer small.
MAX_CATEGORIES = 1000


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
        counts = values.dropna().value_counts(sort=True)
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        common = counts[counts >= rare_min_count]
        if len(common) > MAX_CATEGORIES:
            common = common.iloc[:MAX_CATEGORIES]
        rare = counts[~counts.index.isin(common.index)]
        return cls(
            column=column,
            categories=[str(v) for v in common.index],
            has_null=bool(values.isna().any()),
            rare_values=[str(v) for v in rare.index],
            rare_counts=[int(c) for c in rare.to_numpy()],
        )

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
