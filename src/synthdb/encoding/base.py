"""What every column encoder promises: values in, small integer tokens out, and back.

The model only ever sees integer tokens ("sub-columns"); a column may need more than one
(a number becomes a coarse quantile bin plus a finer position inside it). Encoders are plain
data so they can live in the model file's JSON manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SubColumn:
    """One token position the network predicts: its name and how many values it can take.

    ``context`` says whether later sub-columns may condition on it. A number's position inside
    its bin is noise with respect to the other columns; hiding it from them removes a channel
    through which the network could memorise individual rows.
    """

    name: str
    cardinality: int
    context: bool = True


class ColumnEncoder(Protocol):
    column: str

    @property
    def sub_columns(self) -> list[SubColumn]: ...

    def encode(self, values: pd.Series) -> np.ndarray:
        """Tokens of shape (rows, len(sub_columns))."""
        ...

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Typed values from tokens; ``rng`` supplies within-bin jitter and rare values."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ColumnStatistics:
    """What the NULL policy (:mod:`synthdb.encoding.nulls`) reads about one column: its NULL
    cells and the value ``--nulls replace`` fills them with. Exact, or DP estimates when an
    encoder's private fit released them."""

    nulls: float
    #: the mean (rounded for integers and instants) or the most frequent value; None when
    #: there is none: an all-NULL column, or no DP release to read one from
    average: Any = None
