"""One library under every face: what ``synthdb train|generate|evaluate|report|run`` do, as
Python functions that a command line, a web service or a notebook call alike.

    from synthdb import pipeline

    config = pipeline.training_config(purpose="testing", max_epochs=5)
    trained = pipeline.train("adult.csv", "adult.synthdb", config)
    written = pipeline.generate("adult.synthdb", "synthetic.csv", rows=1_000, seed=7)
    done = pipeline.run("adult.csv", "twin.csv", config, report_path=Path("report.html"))

Each function takes an optional :class:`Listener` that receives the training loop's events,
generation progress, status lines and the outputs as they are completed
(:class:`EventLog` keeps them as JSON-ready dicts), and returns a small outcome dataclass.
Failures are :class:`synthdb.errors.SynthdbError` subclasses with one-line messages, which
name parameters as these functions spell them, in backticks (`rows`). Outputs are checked
before any slow step and written under a temporary name, renamed when whole: a failure or
Ctrl-C leaves nothing half-written.

Nothing heavy is imported until a function runs (PyTorch loads with the first model).
"""

from __future__ import annotations

from synthdb.pipeline.events import (
    EvaluateOutcome,
    EventLog,
    GenerateOutcome,
    Listener,
    ModelKind,
    ReportOutcome,
    RunOutcome,
    SilentListener,
    TrainOutcome,
    Unit,
)
from synthdb.pipeline.generation import generate, impute
from synthdb.pipeline.inputs import training_config
from synthdb.pipeline.reports import evaluate, report
from synthdb.pipeline.runs import run
from synthdb.pipeline.training import train

__all__ = [
    "EvaluateOutcome",
    "EventLog",
    "GenerateOutcome",
    "Listener",
    "ModelKind",
    "ReportOutcome",
    "RunOutcome",
    "SilentListener",
    "TrainOutcome",
    "Unit",
    "evaluate",
    "generate",
    "impute",
    "report",
    "run",
    "train",
    "training_config",
]
