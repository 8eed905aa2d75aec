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

A single table whose rows are sequences (``--sequence-key``, ``--order-by``) says so with::

    sequence_key: tailnum
    order_by: [time_hour]

For a database or a folder of files, ``tables`` declares each table's file, primary key and
foreign keys (read by :func:`load_tables`; see
:class:`synthdb.schema.relations.TableDeclaration`)::

    tables:
      customers: {path: customers.csv, primary_key: id}
      orders:
        path: orders.csv
        primary_key: id
        foreign_keys: [{columns: customer_id, references: customers.id}]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from synthdb.errors import UsageError
from synthdb.schema.relations import TableDeclaration, parse_declarations

#: Keys a job file may hold besides the training parameters.
RUN_KEYS = {"input", "output", "table", "rows", "sample_seed", "encoding", "holdout", "tables"}
#: Keys of a single table's job file that say how its rows form sequences (``--sequence-key``,
#: ``--order-by``); read by :func:`sequence_settings`, not training parameters.
SEQUENCE_KEYS = ("sequence_key", "order_by")


def sequence_settings(path: str | Path) -> dict[str, Any]:
    """``sequence_key`` and ``order_by`` (a list) of a single table's job file, if set."""
    return sequence_values(load_job_file(path), f"job file {path}: ")


def sequence_values(values: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``sequence_key`` and ``order_by`` (a list) of a job file's loaded ``values``, checked;
    ``where`` starts each message (``"job file job.yaml: "``)."""
    out: dict[str, Any] = {}
    key = values.get("sequence_key")
    if key is not None:
        if not isinstance(key, str) or not key:
            raise UsageError(f"{where}sequence_key must be a column name")
        out["sequence_key"] = key
    order = values.get("order_by")
    if order is not None:
        names = [order] if isinstance(order, str) else order
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise UsageError(f"{where}order_by must be a column name or a list of them")
        out["order_by"] = list(names)
    return out


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


def load_tables(values: dict[str, Any], path: str | Path) -> dict[str, TableDeclaration]:
    """The ``tables`` section of job file ``path`` (as loaded by :func:`load_job_file`), checked;
    file paths in it are relative to the job file's folder."""
    path = Path(path)
    return parse_declarations(
        values.get("tables"), base=path.resolve().parent, where=f"job file {path}: tables"
    )
