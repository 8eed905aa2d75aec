"""Job files: the CLI's flags written down (YAML or TOML), so a run can be repeated exactly.

Keys are the flag names without dashes (``max-epochs`` or ``max_epochs``); ``columns`` holds
per-column schema overrides::

    purpose: analytics
    max-epochs: 40
    nulls: keep
    columns:
      zip: {kind: categorical}
      signup: {kind: datetime}

Flags given on the command line win over the job file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from synthdb.errors import UsageError

#: Keys a job file may hold besides the training parameters.
RUN_KEYS = {"input", "output", "table", "rows", "sample_seed", "encoding", "holdout"}


def load_job_file(path: str | Path) -> dict[str, Any]:
    """Read a job file into a dict with snake_case keys."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"job file {path} does not exist", hint="check the path")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise UsageError(f"job file {path} must end in .yaml, .yml or .toml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"job file {path} is not valid: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"job file {path} must hold a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}
