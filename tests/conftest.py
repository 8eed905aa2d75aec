"""Fixtures shared by every tier: the bundled Adult data and one small trained model.

Everything here works on a clean clone: the data is ``data/adult.csv.gz`` in this repository,
read once per session and subsampled, and the model trains for two short epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

from synthdb.config import TrainingConfig
from synthdb.errors import SynthdbError
from synthdb.io import read_table
from synthdb.synthesizer import Synthesizer

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult.csv.gz"
#: Rows of Adult the shared model learns; enough for every column kind to show up.
ADULT_ROWS = 3_000

OneLine = Callable[..., str]

# The test networks are tiny: on a busy two-core machine a second intra-op thread made each
# training step 10-20x slower (thread hand-offs under contention), and one thread also keeps
# floating-point sums in the same order on every machine.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """All 48,842 rows of Adult as read from CSV: every column is text, NULL is NaN."""
    return read_table(ADULT)


@pytest.fixture(scope="session")
def adult_sample(adult: pd.DataFrame) -> pd.DataFrame:
    """3,000 Adult rows (fixed seed) plus a unique ``person_id`` so a key column is present."""
    frame = adult.sample(ADULT_ROWS, random_state=7).reset_index(drop=True)
    frame.insert(0, "person_id", [str(1000 + i) for i in range(len(frame))])
    return frame


@pytest.fixture(scope="session")
def adult_model(adult_sample: pd.DataFrame) -> Synthesizer:
    """A model of ``adult_sample`` after two epochs; small layers and batches keep it fast."""
    config = TrainingConfig(
        max_epochs=2, batch_size=512, hidden=16, embedding_dim=4, nulls="keep", seed=3
    )
    return Synthesizer(config).fit(adult_sample)


@pytest.fixture
def one_line() -> OneLine:
    """Assert an error reads as the CLI would print it: one line holding every fragment."""

    def check(error: BaseException, *fragments: str) -> str:
        assert isinstance(error, SynthdbError), f"{type(error).__name__}: {error}"
        message = str(error)
        assert "\n" not in message, message
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        return message

    return check
