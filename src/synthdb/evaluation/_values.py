"""Typed columns as the measures read them: numbers as floats, categories by their text."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd


def floats(series: pd.Series) -> npt.NDArray[np.float64]:
    """Numbers as float64, anything unparseable or NULL as NaN."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def texts(series: pd.Series) -> pd.Series:
    """Values as text with NULL kept as None: categories compare by text, as accuracy does."""
    return series.map(lambda v: None if v is None or v is pd.NA or v != v else str(v)).astype(
        object
    )
