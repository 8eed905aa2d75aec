"""What one running service is configured with: flags of ``synthdb serve`` and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Uploads above this many bytes are refused (413) unless ``--max-upload-mb`` says otherwise.
DEFAULT_MAX_UPLOAD = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs. Secrets come from the environment, never from flags
    (a flag shows in ``ps`` and shell history)."""

    data_dir: Path
    #: SQLAlchemy URL of the state database; default: ``sqlite:///DATA_DIR/state.db``
    state_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    #: jobs (training, generation) run at once, each in its own process
    workers: int = 1
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    #: the API token, from SYNTHDB_TOKEN; None: one is created at first start and stored hashed
    token: str | None = field(default=None, repr=False)
    #: key for the passwords of registered database URLs, from SYNTHDB_SECRET_KEY
    secret_key: str | None = field(default=None, repr=False)
    #: PyTorch threads of each job; default: the cores divided among the workers (or
    #: OMP_NUM_THREADS when set)
    worker_threads: int | None = None
    #: seconds between two looks of the job supervisor at the queue
    poll_seconds: float = 0.5
    #: mark the session cookie Secure (set when served behind HTTPS)
    secure_cookies: bool = False

    @classmethod
    def from_environment(cls, data_dir: Path, **values: object) -> Settings:
        return cls(
            data_dir=data_dir,
            token=os.environ.get("SYNTHDB_TOKEN") or None,
            secret_key=os.environ.get("SYNTHDB_SECRET_KEY") or None,
            **values,  # type: ignore[arg-type]
        )

    @property
    def resolved_state_url(self) -> str:
        if self.state_url:
            return self.state_url
        return f"sqlite:///{(self.data_dir / 'state.db').resolve()}"


@dataclass(frozen=True)
class Layout:
    """Where files live inside the data folder. Every name below it is generated (ids are hex
    digits); nothing a user sends becomes part of a path."""

    root: Path

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.root / "datasets" / dataset_id

    def model_dir(self, model_id: str) -> Path:
        return self.root / "models" / model_id

    def model_file(self, model_id: str) -> Path:
        return self.model_dir(model_id) / "model.synthdb"

    def report_file(self, model_id: str) -> Path:
        return self.model_dir(model_id) / "report.html"

    def job_dir(self, job_id: str) -> Path:
        return self.root / "jobs" / job_id

    def result_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "synthetic.csv"

    def result_zip(self, job_id: str) -> Path:
        """A database twin's tables, one CSV file each."""
        return self.job_dir(job_id) / "synthetic.zip"

    def job_log(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "worker.log"

    def uploads(self) -> Path:
        return self.root / "uploads"

    def make(self) -> None:
        for part in ("datasets", "models", "jobs", "uploads"):
            (self.root / part).mkdir(parents=True, exist_ok=True)
