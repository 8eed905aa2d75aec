"""The service's state: datasets, models, jobs and tokens, as SQLAlchemy Core tables.

SQLite inside the data folder by default (WAL mode, so worker processes write progress while
the web process reads), or any SQLAlchemy URL given as ``--state-url`` (PostgreSQL through
psycopg 3). Every table name starts with ``synthdb_`` so the state can share a schema.

Status changes are conditional updates (``... WHERE status = 'running'``): the web process, the
supervisor and the workers may race, and whichever writes first wins; the others see a row
count of 0 and step back. A model's ``busy_job`` column is claimed the same way, so two jobs
can never run on one model at once.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SCHEMA_VERSION = 1

#: Job states; ``interrupted``: the service stopped (or was killed) while the job ran.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
#: What a training job's end makes of its model.
MODEL_AFTER_TRAINING = {
    "succeeded": "ready",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}

metadata = sa.MetaData()

meta = sa.Table(
    "synthdb_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tokens = sa.Table(
    "synthdb_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    #: SHA-256 of the token: tokens are 256 random bits, so a slow hash adds nothing
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user", sa.String(200), nullable=False),
    #: one role for now ("admin": every right); room for read-only users later
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

datasets = sa.Table(
    "synthdb_datasets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    #: "file" (uploaded, under DATA_DIR/datasets/ID/) or "url" (a registered database)
    sa.Column("kind", sa.String(16), nullable=False),
    #: csv, parquet, sqlite or the database's backend name
    sa.Column("format", sa.String(32), nullable=False),
    #: file name inside the dataset's folder (generated, never the uploaded name)
    sa.Column("file", sa.String(200)),
    #: a registered URL: "fernet:..." (password encrypted), "env:VAR", or "plain:..." (none)
    sa.Column("url_secret", sa.Text),
    #: the URL with its password shown as ***
    sa.Column("url_display", sa.Text),
    sa.Column("size", sa.BigInteger),
    #: inferred schema, rules and tables (JSON)
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

models = sa.Table(
    "synthdb_models",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("dataset_id", sa.String(32), nullable=False),
    #: the job file's keys as given (JSON)
    sa.Column("config_json", sa.Text, nullable=False),
    #: training, ready, failed, cancelled, interrupted
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("train_job", sa.String(32)),
    #: the job running on this model now, if any
    sa.Column("busy_job", sa.String(32)),
    #: stop reason, epochs, accuracy, epsilon, rows (JSON)
    sa.Column("summary_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
)

jobs = sa.Table(
    "synthdb_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    #: train or generate
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("model_id", sa.String(32), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("progress_json", sa.Text, nullable=False),
    sa.Column("result_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("pid", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
)


def new_id() -> str:
    """A random id; ids name folders, so they are only ever hex digits."""
    return secrets.token_hex(8)


def is_id(value: str) -> bool:
    return len(value) == 16 and all(c in "0123456789abcdef" for c in value)


class Conflict(Exception):
    """The request clashes with the state (a busy model, an unfinished job): HTTP 409."""


class State:
    """Typed access to the state tables; one instance per process (each owns its engine)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)

    def create(self) -> None:
        metadata.create_all(self.engine)
        with self.begin(write=True) as db:
            found = db.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
            if found is None:
                db.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self, write: bool = False) -> Iterator[Connection]:
        """A transaction; ``write=True`` takes SQLite's write lock at once (``BEGIN
        IMMEDIATE``), so a read-then-update cannot fail half-way on a lock upgrade."""
        with self.engine.connect() as connection:
            connection.info["immediate"] = write
            with connection.begin():
                yield connection

    # ------------------------------------------------------------ meta
    def meta_value(self, key: str, make: Any) -> str:
        """The stored value of ``key``, created by ``make()`` the first time (race-safe)."""
        with self.begin() as db:
            value = db.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        if value is not None:
            return str(value)
        try:
            with self.begin(write=True) as db:
                db.execute(sa.insert(meta).values(key=key, value=make()))
        except sa.exc.IntegrityError:
            pass  # another process made it first: use theirs
        with self.begin() as db:
            return str(db.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one())

    # ------------------------------------------------------------ tokens
    def token_count(self) -> int:
        with self.begin() as db:
            return int(db.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one())

    def add_token(self, digest: str, user: str = "admin", role: str = "admin") -> None:
        with self.begin(write=True) as db:
            db.execute(
                sa.insert(tokens).values(
                    id=new_id(), hash=digest, user=user, role=role, created_at=time.time()
                )
            )

    def token_user(self, digest: str) -> str | None:
        with self.begin() as db:
            user = db.execute(sa.select(tokens.c.user).where(tokens.c.hash == digest)).scalar()
        return None if user is None else str(user)

    # ------------------------------------------------------------ datasets
    def add_dataset(self, **values: Any) -> str:
        values = {**values, "id": values.get("id") or new_id(), "created_at": time.time()}
        with self.begin(write=True) as db:
            db.execute(sa.insert(datasets).values(**values))
        return str(values["id"])

    def dataset(self, dataset_id: str) -> dict[str, Any] | None:
        if not is_id(dataset_id):
            return None
        with self.begin() as db:
            row = db.execute(sa.select(datasets).where(datasets.c.id == dataset_id)).first()
        return None if row is None else dict(row._mapping)

    def datasets(self) -> list[dict[str, Any]]:
        with self.begin() as db:
            rows = db.execute(sa.select(datasets).order_by(datasets.c.created_at.desc()))
            return [dict(r._mapping) for r in rows]

    # ------------------------------------------------------------ models and jobs
    def add_model_with_job(
        self, name: str, dataset_id: str, config: dict[str, Any], params: dict[str, Any]
    ) -> tuple[str, str]:
        """A model in training and its queued training job, in one transaction."""
        model_id, job_id = new_id(), new_id()
        now = time.time()
        with self.begin(write=True) as db:
            db.execute(
                sa.insert(models).values(
                    id=model_id,
                    name=name,
                    dataset_id=dataset_id,
                    config_json=json.dumps(config),
                    status="training",
                    train_job=job_id,
                    busy_job=job_id,
                    created_at=now,
                )
            )
            db.execute(
                sa.insert(jobs).values(
                    id=job_id,
                    kind="train",
                    model_id=model_id,
                    status="queued",
                    params_json=json.dumps(params),
                    progress_json=json.dumps({"phase": "queued"}),
                    cancel_requested=False,
                    created_at=now,
                )
            )
        return model_id, job_id

    def add_generate_job(self, model_id: str, params: dict[str, Any]) -> str:
        """Queue a generation job; :class:`Conflict` unless the model is ready and idle."""
        job_id = new_id()
        with self.begin(write=True) as db:
            model = db.execute(sa.select(models).where(models.c.id == model_id)).first()
            if model is None:
                raise KeyError(model_id)
            if model.status != "ready":
                why = f": {model.error}" if model.error else ""
                raise Conflict(
                    f"model {model_id} is {model.status}{why}; only a ready model can generate"
                )
            claimed = db.execute(
                sa.update(models)
                .where(models.c.id == model_id, models.c.busy_job.is_(None))
                .values(busy_job=job_id)
            ).rowcount
            if claimed != 1:
                raise Conflict(
                    f"model {model_id} is busy with job {model.busy_job}; wait for it to "
                    "finish or cancel it"
                )
            db.execute(
                sa.insert(jobs).values(
                    id=job_id,
                    kind="generate",
                    model_id=model_id,
                    status="queued",
                    params_json=json.dumps(params),
                    progress_json=json.dumps({"phase": "queued"}),
                    cancel_requested=False,
                    created_at=time.time(),
                )
            )
        return job_id

    def model(self, model_id: str) -> dict[str, Any] | None:
        if not is_id(model_id):
            return None
        with self.begin() as db:
            row = db.execute(sa.select(models).where(models.c.id == model_id)).first()
        return None if row is None else dict(row._mapping)

    def models(self) -> list[dict[str, Any]]:
        with self.begin() as db:
            rows = db.execute(sa.select(models).order_by(models.c.created_at.desc()))
            return [dict(r._mapping) for r in rows]

    def job(self, job_id: str) -> dict[str, Any] | None:
        if not is_id(job_id):
            return None
        with self.begin() as db:
            row = db.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else dict(row._mapping)

    def jobs(self, model_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = sa.select(jobs).order_by(jobs.c.created_at.desc()).limit(limit)
        if model_id is not None:
            query = query.where(jobs.c.model_id == model_id)
        with self.begin() as db:
            return [dict(r._mapping) for r in db.execute(query)]

    def claim_next(self, pid_of: Any = None) -> dict[str, Any] | None:
        """The oldest queued job, now marked running; None when the queue is empty."""
        with self.begin(write=True) as db:
            candidates = db.execute(
                sa.select(jobs.c.id)
                .where(jobs.c.status == "queued")
                .order_by(jobs.c.created_at)
                .limit(5)
            ).scalars()
            for job_id in list(candidates):
                claimed = db.execute(
                    sa.update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.status == "queued")
                    .values(status="running", started_at=time.time())
                ).rowcount
                if claimed == 1:
                    row = db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
                    return dict(row._mapping)
        return None

    def set_pid(self, job_id: str, pid: int | None) -> None:
        with self.begin(write=True) as db:
            db.execute(sa.update(jobs).where(jobs.c.id == job_id).values(pid=pid))

    def update_progress(self, job_id: str, progress: dict[str, Any]) -> bool:
        """Store a running job's progress; False when the job is no longer running (cancelled,
        or marked interrupted by a restarted service), so the worker can stop."""
        with self.begin(write=True) as db:
            changed = db.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(progress_json=json.dumps(progress))
            ).rowcount
        return changed == 1

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        only_from: tuple[str, ...] = ("running",),
    ) -> bool:
        """End a job (and, for training, settle its model) if it is still in ``only_from``."""
        assert status in FINISHED
        with self.begin(write=True) as db:
            job = db.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
            if job is None or job.status not in only_from:
                return False
            values: dict[str, Any] = {"status": status, "finished_at": time.time(), "pid": None}
            if error is not None:
                values["error"] = error
            if result is not None:
                values["result_json"] = json.dumps(result)
            if progress is not None:
                values["progress_json"] = json.dumps(progress)
            changed = db.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status.in_(only_from))
                .values(**values)
            ).rowcount
            if changed != 1:
                return False
            model_values: dict[str, Any] = {}
            if job.kind == "train":
                model_values["status"] = MODEL_AFTER_TRAINING[status]
                if error is not None:
                    model_values["error"] = error
                if summary is not None:
                    model_values["summary_json"] = json.dumps(summary)
            if model_values:
                db.execute(
                    sa.update(models).where(models.c.id == job.model_id).values(**model_values)
                )
            db.execute(
                sa.update(models)
                .where(models.c.id == job.model_id, models.c.busy_job == job_id)
                .values(busy_job=None)
            )
        return True

    def request_cancel(self, job_id: str) -> str:
        """Cancel a queued job at once, or ask the supervisor to stop a running one; returns
        the job's status afterwards."""
        if self.finish(job_id, "cancelled", error="cancelled", only_from=("queued",)):
            return "cancelled"
        with self.begin(write=True) as db:
            db.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(cancel_requested=True)
            )
            return str(db.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar())

    def cancel_requested(self) -> list[str]:
        with self.begin() as db:
            rows = db.execute(
                sa.select(jobs.c.id).where(
                    jobs.c.status == "running", jobs.c.cancel_requested.is_(True)
                )
            )
            return [str(r) for r in rows.scalars()]

    def running(self) -> list[str]:
        with self.begin() as db:
            rows = db.execute(sa.select(jobs.c.id).where(jobs.c.status == "running"))
            return [str(r) for r in rows.scalars()]

    def mark_interrupted(self) -> list[str]:
        """At start-up: jobs left running by a service that stopped are interrupted (their
        worker processes died with it, or stop at their next progress write)."""
        marked = []
        for job_id in self.running():
            if self.finish(
                job_id,
                "interrupted",
                error="interrupted: the service stopped while this job ran; start it again",
            ):
                marked.append(job_id)
        return marked


def _engine(url: str) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=sa.NullPool
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            connection.isolation_level = None  # SQLAlchemy's recipe: we emit BEGIN ourselves
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            immediate = connection.info.get("immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
