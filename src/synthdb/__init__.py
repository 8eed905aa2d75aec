"""synthdb: synthetic twins of tables and relational databases.

Most users need only these names::

    from synthdb import Synthesizer, TrainingConfig, evaluate

A database is learned with ``DatabaseModel``, a table of sequences (a plane's flights) with
``SequenceModel``. What each ``synthdb`` command does (train, generate, evaluate, report, run)
is one function of :mod:`synthdb.pipeline`.

They are imported on first use, so ``synthdb --help`` answers without loading PyTorch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from synthdb.config import Privacy, TrainingConfig
    from synthdb.evaluation.accuracy import AccuracyReport
    from synthdb.evaluation.database import DatabaseQuality
    from synthdb.evaluation.quality import QualityReport
    from synthdb.relational.model import DatabaseModel
    from synthdb.relational.sequence_table import SequenceModel
    from synthdb.scoring import evaluate, evaluate_database
    from synthdb.synthesizer import Synthesizer

_EXPORTS = {
    "AccuracyReport": "synthdb.evaluation.accuracy",
    "Privacy": "synthdb.config",
    "SequenceModel": "synthdb.relational.sequence_table",
    "Synthesizer": "synthdb.synthesizer",
    "TrainingConfig": "synthdb.config",
    "DatabaseQuality": "synthdb.evaluation.database",
    "DatabaseModel": "synthdb.relational.model",
    "QualityReport": "synthdb.evaluation.quality",
    "evaluate": "synthdb.scoring",
    "evaluate_database": "synthdb.scoring",
}
__all__ = [
    "AccuracyReport",
    "DatabaseModel",
    "DatabaseQuality",
    "Privacy",
    "QualityReport",
    "SequenceModel",
    "Synthesizer",
    "TrainingConfig",
    "__version__",
    "evaluate",
    "evaluate_database",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthdb' has no attribute {name!r}")
