"""What an input is and what a call may write: job files, databases, tables of sequences,
and the checks made before any slow step.

Errors name a parameter as the Python functions spell it, in backticks (`rows`,
`sequence_key`); the command line shows its flag there instead (``--rows``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from synthdb.config import TrainingConfig, make_config
from synthdb.errors import UsageError

if TYPE_CHECKING:
    from synthdb.io.database import DatabaseSource
    from synthdb.pipeline.events import Listener
    from synthdb.schema.relations import DatabaseSchema

JOB_SUFFIXES = (".yaml", ".yml", ".toml")
#: a table's name when the input does not give one (a database of several tables)
DEFAULT_TABLE = "table"
#: the largest factor a database's root tables may be scaled by
MAX_SCALE = 1_000.0
#: A job file, or its settings as a mapping with a job file's keys (``tables``,
#: ``sequence_key``, ...): what a service stores, what a notebook writes as a dict.
Job: TypeAlias = Path | Mapping[str, Any]


def job_values(job: Job) -> tuple[dict[str, Any], str, Path]:
    """A job's settings with snake_case keys, how messages name it (``job file job.yaml``,
    or ``job`` for a mapping) and the folder its relative paths start from (the job file's,
    or the working folder)."""
    if isinstance(job, Mapping):
        return {str(k).replace("-", "_"): v for k, v in job.items()}, "job", Path.cwd()
    from synthdb.jobfile import load_job_file

    return load_job_file(job), f"job file {job}", Path(job).resolve().parent


def is_job_file(source: str) -> bool:
    """Whether ``source`` names a job file (``.yaml``, ``.yml``, ``.toml``)."""
    return source.lower().endswith(JOB_SUFFIXES)


def is_database_input(
    source: str, table: str | None = None, tables: str | Sequence[str] | None = None
) -> bool:
    """Whether ``source`` names several related tables rather than one table: a job file, a
    folder, a database URL with several tables (and no ``table`` chosen), or ``tables``."""
    from synthdb.io._locations import is_url

    if is_job_file(source) or tables:
        return True
    if table is not None:
        return False
    if is_url(source):
        from synthdb.io.database import open_database

        return len(open_database(source).tables()) > 1
    return Path(source).is_dir()


def table_list(tables: str | Sequence[str] | None) -> list[str] | None:
    """``"orders, items"`` or a list of names -> the names; None for all tables."""
    if tables is None:
        return None
    given = tables.split(",") if isinstance(tables, str) else list(tables)
    names = [name.strip() for name in given if name.strip()]
    if not names:
        raise UsageError("`tables` needs at least one table name", hint="`tables` orders,items")
    return names


def training_config(
    source: str | None = None,
    job: Job | None = None,
    *,
    listener: Listener | None = None,
    **values: Any,
) -> TrainingConfig:
    """Job file settings, overridden by the ``values`` that are not None, validated once.

    ``values`` are :class:`~synthdb.config.TrainingConfig`'s fields and the privacy settings
    (``epsilon``, ``privacy``, ``delta``, ...), spelt as in Python or as in a job file
    (``max-epochs``: ``training_config(**{"max-epochs": 40})``). A job file given as the input
    (``source="job.yaml"``) is read first, then ``job``; the inputs, outputs and sampling
    settings a job file may hold are not training settings and are said to be ignored.
    """
    from synthdb.jobfile import RUN_KEYS, SEQUENCE_KEYS

    # Inputs, outputs and sampling settings come from the call, for now; but a ``tables``
    # section describes a database's tables, and a job file given as the input names its data
    # with ``input``: those are read where the database is opened.
    files: list[tuple[Job, set[str]]] = []
    if source is not None and is_job_file(source):
        files.append((Path(source), {"input", "tables"}))
    if job is not None:
        files.append((job, {"tables"}))
    settings: dict[str, Any] = {}
    for given, used in files:
        found, _, _ = job_values(given)
        for key in SEQUENCE_KEYS:  # how the rows form sequences: read by sequencing()
            found.pop(key, None)
        ignored = sorted(
            key for key in RUN_KEYS if found.pop(key, None) is not None and key not in used
        )
        if ignored and listener is not None:
            named = "job" if isinstance(given, Mapping) else str(given)
            listener.on_message(
                f"warning: {named}: {', '.join(ignored)} ignored; give them on the command line"
            )
        settings.update(found)
    settings.update({k.replace("-", "_"): v for k, v in values.items() if v is not None})
    return make_config(**settings)


def open_database_input(
    source: str, tables: str | Sequence[str] | None, job: Job | None, encoding: str = "utf-8"
) -> tuple[DatabaseSource, DatabaseSchema, dict[str, dict[str, Any]]]:
    """The database, its schema (only ``tables`` and those they reference, if given) and the
    job's per-table settings (``tables.NAME.*``)."""
    from synthdb.io.database import open_database
    from synthdb.schema.relations import parse_declarations

    location: str | None = source
    declared = {}
    chosen = Path(source) if is_job_file(source) else job
    if chosen is not None:
        values, where, base = job_values(chosen)
        declared = parse_declarations(values.get("tables"), base=base, where=f"{where}: tables")
        if is_job_file(source):
            given = values.get("input")
            location = None
            if given is not None:
                location = str(given)
                if "://" not in location:
                    location = str(base / location)
    database = open_database(location, declared=declared, encoding=encoding)
    schema = database.schema(table_list(tables))
    settings = {name: dict(d.settings) for name, d in declared.items() if d.settings}
    return database, schema, settings


def table_configs(
    config: TrainingConfig, settings: dict[str, dict[str, Any]]
) -> tuple[dict[str, TrainingConfig], dict[str, str], dict[str, list[str]]]:
    """Per-table training parameters (job file ``tables.NAME.*`` over the run's), contexts
    and orders (``order_by``: one column or a list)."""
    configs: dict[str, TrainingConfig] = {}
    contexts: dict[str, str] = {}
    orders: dict[str, list[str]] = {}
    base = config.model_dump()
    for name, values in settings.items():
        values = {k.replace("-", "_"): v for k, v in values.items()}
        values.pop("public", None)  # a table-level privacy setting: see public_tables
        context = values.pop("context", None)
        if context is not None:
            contexts[name] = str(context)
        if "order_by" in values:  # false, "none" or [] switch an inferred order off
            order_by = values.pop("order_by")
            if order_by in (None, False, "none", "None"):
                orders[name] = []
            elif isinstance(order_by, str):
                orders[name] = [order_by]
            else:
                orders[name] = [str(c) for c in order_by]
        if values:
            configs[name] = make_config(**(base | values))
    return configs, contexts, orders


def public_tables(settings: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    """The tables a job file declares ``public: true``: copied as they are under DP."""
    public = []
    for name, values in settings.items():
        flag = values.get("public", False)
        if not isinstance(flag, bool):
            raise UsageError(f"`tables.{name}.public` must be true or false (got {flag!r})")
        if flag:
            public.append(name)
    return tuple(public)


def open_table_input(source: str, table: str | None, encoding: str = "utf-8") -> tuple[str, str]:
    """Check that the input exists; return its name fit for messages and its table's name."""
    from synthdb.io.sources import open_source

    opened = open_source(source, table=table, encoding=encoding)
    tables = opened.tables()
    name = table or (tables[0] if len(tables) == 1 else DEFAULT_TABLE)
    return opened.location, name


def single_table_job(job: Job | None, listener: Listener) -> None:
    """A ``tables`` section means nothing for one table: say so rather than drop it silently."""
    if job is not None and job_values(job)[0].get("tables") is not None:
        named = "job" if isinstance(job, Mapping) else str(job)
        listener.on_message(f"warning: {named}: tables ignored; the input is one table")


def sequencing(
    job: Job | None, sequence_key: str | None, order_by: str | Sequence[str] | None
) -> tuple[str, list[str]] | None:
    """The sequence key and order columns (a list, or ``"a,b"``) as given, else the job's;
    None when the rows are not sequences. An order without a key is a mistake, said in one
    line."""
    settings: dict[str, Any] = {}
    if job is not None:
        from synthdb.jobfile import sequence_values

        values, where, _ = job_values(job)
        settings = sequence_values(values, f"{where}: ")
    key = sequence_key if sequence_key is not None else settings.get("sequence_key")
    if order_by is not None:
        given = order_by.split(",") if isinstance(order_by, str) else list(order_by)
        order = [name.strip() for name in given if name.strip()]
        if not order:
            raise UsageError("`order_by` needs at least one column name")
    else:
        order = list(settings.get("order_by", []))
    if key is None:
        if order:
            raise UsageError(
                "`order_by` orders the rows of each sequence, and needs `sequence_key`",
                hint="name the column telling the sequences apart: `sequence_key` COLUMN",
            )
        return None
    return key, order


def refuse_sequences_for_database(
    sequence_key: str | None, order_by: str | Sequence[str] | None, sequences: int | None
) -> None:
    """The sequence settings are for one table; a database orders its children in the job
    file."""
    for name, value in (
        ("sequence_key", sequence_key),
        ("order_by", order_by),
        ("sequences", sequences),
    ):
        if value is not None:
            raise UsageError(
                f"`{name}` is for one table; in a database, a child table's rows are sequences "
                "under their parent row",
                hint="order them with tables.NAME.order_by in the job file",
            )


def check_output(location: str | Path, table: str | None, overwrite: bool) -> None:
    """Raise now if writing ``location`` would fail at the end of a long run."""
    from synthdb.io.sinks import check_output as check

    check(str(location), table=table, overwrite=overwrite)


def check_database_output(output: str, schema: DatabaseSchema, overwrite: bool) -> None:
    from synthdb.io.database import check_database_output as check

    check(output, schema, overwrite=overwrite)


def check_sampling(rows: int | None, seed: int, seed_name: str) -> None:
    if rows is not None and rows < 1:
        raise UsageError(
            f"`rows` must be at least 1 (got {rows})",
            hint="pass `rows` 1 or more, or leave it out to match the training data",
        )
    if seed < 0:
        raise UsageError(
            f"`{seed_name}` must be at least 0 (got {seed})", hint=f"pass `{seed_name}` 0 or more"
        )


def check_scale(scale: float | None) -> float:
    """A database's scale factor: 1 when not given."""
    if scale is None:
        return 1.0
    if not scale > 0 or scale > MAX_SCALE:
        raise UsageError(f"`scale` must be above 0 and at most {MAX_SCALE:g} (got {scale:g})")
    return scale


def check_generation(
    kind: object,
    *,
    rows: int | None = None,
    scale: float | None = None,
    sequences: int | None = None,
    table: str | None = None,
) -> None:
    """What a model of ``kind`` (a model file's manifest ``kind``: ``"database"``,
    ``"sequences"``, else one table) can be asked for, checked before it is loaded: a
    table's model takes `rows`, a model of sequences `sequences`, a database's `scale`. A
    service checks a request with it before it queues the job."""
    if kind == "database":
        check_no_sequences(sequences, "this model holds a database", "`scale` F")
        if rows is not None or table is not None:
            name = "rows" if rows is not None else "table"
            raise UsageError(
                f"`{name}` is for a table's model; this model holds a database",
                hint="pass `scale` F to multiply the root tables' rows",
            )
        check_scale(scale)
    elif kind == "sequences":
        for name, value in (("rows", rows), ("scale", scale)):
            if value is not None:
                raise UsageError(
                    f"`{name}` is for other models; this one draws whole sequences, each as "
                    "long as it learned",
                    hint="pass `sequences` N",
                )
        check_sequences(sequences)
    else:
        check_no_sequences(sequences, "this model learned rows one by one", "`rows` N")
        if scale is not None:
            raise UsageError(
                "`scale` is for a database's model; this model holds one table",
                hint="pass `rows` N",
            )


def check_sequences(sequences: int | None) -> None:
    if sequences is not None and sequences < 1:
        raise UsageError(f"`sequences` must be at least 1 (got {sequences})")


def check_no_sequences(sequences: int | None, why: str, instead: str) -> None:
    if sequences is not None:
        raise UsageError(
            f"`sequences` is for a model of sequences (trained with `sequence_key`); {why}",
            hint=f"pass {instead}",
        )


def check_target(target: str | None, holdout: object | None) -> None:
    if target is not None and holdout is None:
        raise UsageError(
            "`target` needs `holdout`: ML utility tests models on real rows the model never saw"
        )


def check_report_outputs(page: Path, json_path: Path | None, overwrite: bool) -> None:
    """The report's outputs, checked before any slow step."""
    check_output(page, None, overwrite)
    if json_path is not None:
        if Path(json_path).resolve() == Path(page).resolve():
            raise UsageError(
                "`json_path` and the report page name the same file", hint="use two names"
            )
        check_output(json_path, None, overwrite)


def display(output: str) -> str:
    """An output fit for messages: a database URL without its password."""
    from synthdb.io._locations import shown

    return shown(output)
