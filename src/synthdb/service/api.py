"""The REST API under ``/api/v1``; every call needs ``Authorization: Bearer <token>``.

Answers are JSON except the report (HTML), the model file and generated rows (CSV). Errors
are ``{"detail": "one line"}`` (and ``"field"`` for a configuration key) with a 4xx status.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from synthdb.service.core import Service, ServiceError

bearer = HTTPBearer(
    auto_error=False, description="the token printed at first start, or SYNTHDB_TOKEN"
)

#: The report is a self-contained page with no scripts: nothing else may run or load in it.
REPORT_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def service(request: Request) -> Service:
    return request.app.state.service


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    user = service(request).tokens.user(credentials.credentials if credentials else None)
    if user is None:
        raise ServiceError(401, "a valid token is needed: Authorization: Bearer <token>")
    return user


router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
Svc = Annotated[Service, Depends(service)]


class Created(BaseModel):
    id: str


class ModelCreated(BaseModel):
    id: str
    job_id: str


class JobCreated(BaseModel):
    job_id: str


class Problem(BaseModel):
    detail: str
    field: str | None = None


class RegisterUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=4000,
        description="SQLAlchemy URL (its password is stored encrypted), or env:VAR naming an "
        "environment variable of the service that holds the URL",
    )
    table: str | None = Field(None, max_length=200, description="the table to use; default all")
    name: str | None = Field(None, max_length=200)


class NewModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(max_length=64)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="the job file's keys: purpose, max-epochs, nulls, privacy (high, medium, "
        "low), epsilon, microbatches, clip, noise-multiplier, learning-rate, batch-size, "
        "patience, seed, columns, table; sequence_key and order_by for a table of "
        "sequences; tables (keys, foreign keys, settings per table) for a database ...",
    )
    name: str | None = Field(None, max_length=200)
    report: bool = Field(True, description="write the quality report after training")


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int | None = Field(
        None, ge=1, le=1_000_000_000, description="a table's model: default the training rows"
    )
    scale: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="rows as a multiple of the training rows; a database's model: of its root "
        "tables' rows",
    )
    sequences: int | None = Field(
        None,
        ge=1,
        le=1_000_000_000,
        description="a model of sequences (trained with sequence_key): whole sequences to "
        "draw, default as many as it learned; not with rows or scale",
    )
    seed: int = Field(0, ge=0, le=2**63 - 1)
    target_dataset_id: str | None = Field(
        None,
        max_length=64,
        description="a registered database to write to; default: a CSV download",
    )
    table: str | None = Field(None, max_length=63, description="table to write in the target")
    overwrite: bool = Field(False, description="replace the target table if it exists")


class DatasetView(BaseModel):
    id: str
    name: str
    kind: Literal["file", "url"]
    format: str
    size: int | None
    created_at: float
    tables: list[str]
    database: bool
    rows: int | None
    url: str | None = None
    schema_: list[dict[str, Any]] | None = Field(None, alias="schema")


class ModelView(BaseModel):
    id: str
    name: str
    dataset_id: str
    status: str
    config: dict[str, Any]
    created_at: float
    train_job_id: str | None
    busy_job_id: str | None
    summary: dict[str, Any] | None
    error: str | None
    report: bool


class JobView(BaseModel):
    id: str
    kind: Literal["train", "generate"]
    model_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
    progress: dict[str, Any]
    params: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or wrong token"},
    404: {"model": Problem, "description": "unknown id"},
}


@router.post(
    "/datasets",
    status_code=201,
    response_model=Created,
    responses={
        **ERRORS,
        400: {"model": Problem, "description": "unreadable data"},
        413: {"model": Problem, "description": "too large"},
        415: {"model": Problem, "description": "not CSV, Parquet or SQLite"},
    },
)
def upload_dataset(
    svc: Svc,
    file: Annotated[UploadFile, File(description="CSV (optionally gzip), Parquet or SQLite")],
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> Created:
    """Upload a table: CSV, Parquet or an SQLite database, recognised by content."""
    return Created(id=svc.upload(file.file, file.filename, name))


@router.post(
    "/datasets/url",
    status_code=201,
    response_model=Created,
    responses={**ERRORS, 400: {"model": Problem}, 422: {"model": Problem}},
)
def register_url(svc: Svc, body: RegisterUrl) -> Created:
    """Register a database by URL; the password is stored encrypted and never sent back."""
    return Created(id=svc.register_url(body.url, body.table, body.name))


@router.get("/datasets", response_model=list[DatasetView], response_model_by_alias=True)
def list_datasets(svc: Svc) -> list[dict[str, Any]]:
    return [svc.dataset_view(row) for row in svc.state.datasets()]


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetView,
    response_model_by_alias=True,
    responses=ERRORS,
)
def get_dataset(svc: Svc, dataset_id: str) -> dict[str, Any]:
    """A dataset with its schema view: inferred kinds, keys and rules per table."""
    return svc.dataset_view(svc.dataset(dataset_id), schema=True)


@router.post(
    "/models",
    status_code=202,
    response_model=ModelCreated,
    responses={**ERRORS, 422: {"model": Problem, "description": "invalid config"}},
)
def create_model(svc: Svc, body: NewModel) -> ModelCreated:
    """Queue a training job for a new model of a dataset."""
    model_id, job_id = svc.create_model(body.dataset_id, body.config, body.name, body.report)
    return ModelCreated(id=model_id, job_id=job_id)


@router.get("/models", response_model=list[ModelView])
def list_models(svc: Svc) -> list[dict[str, Any]]:
    return [svc.model_view(row) for row in svc.state.models()]


@router.get("/models/{model_id}", response_model=ModelView, responses=ERRORS)
def get_model(svc: Svc, model_id: str) -> dict[str, Any]:
    return svc.model_view(svc.model(model_id))


@router.get(
    "/models/{model_id}/report",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {"text/html": {}}}, 409: {"model": Problem}},
)
def model_report(svc: Svc, model_id: str) -> FileResponse:
    """The model's quality and privacy report (one HTML page)."""
    return report_response(svc.ready_file(model_id, "report"))


def report_response(path: Any) -> FileResponse:
    return FileResponse(
        path,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_POLICY, "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/models/{model_id}/file",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {"content": {"application/octet-stream": {}}},
        409: {"model": Problem},
    },
)
def model_file(svc: Svc, model_id: str) -> FileResponse:
    """The model file (zip of JSON and safetensors), for ``synthdb generate``."""
    return FileResponse(
        svc.ready_file(model_id, "file"),
        media_type="application/octet-stream",
        filename=f"model-{model_id}.synthdb",
    )


@router.post(
    "/models/{model_id}/generate",
    status_code=202,
    response_model=JobCreated,
    responses={**ERRORS, 409: {"model": Problem, "description": "model busy or not ready"}},
)
def generate(svc: Svc, model_id: str, body: GenerateRequest) -> JobCreated:
    """Queue a generation job: a CSV download, or a table in a registered database. Give
    rows (or scale) for a table's model, sequences for a model of sequences, scale for a
    database's model."""
    job_id = svc.generate(
        model_id,
        body.rows,
        body.scale,
        body.seed,
        body.target_dataset_id,
        body.table,
        body.overwrite,
        body.sequences,
    )
    return JobCreated(job_id=job_id)


@router.get("/jobs", response_model=list[JobView])
def list_jobs(svc: Svc) -> list[dict[str, Any]]:
    return [svc.job_view(row) for row in svc.state.jobs()]


@router.get("/jobs/{job_id}", response_model=JobView, responses=ERRORS)
def get_job(svc: Svc, job_id: str) -> dict[str, Any]:
    """A job's status and progress (epoch, validation accuracy, epsilon, rows written)."""
    return svc.job_view(svc.job(job_id))


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=JobView, responses=ERRORS)
def cancel_job(svc: Svc, job_id: str) -> dict[str, Any]:
    """Cancel a job: a queued one at once, a running one when its process has ended."""
    return svc.job_view(svc.cancel(job_id))


@router.get(
    "/jobs/{job_id}/result",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}, "application/zip": {}}},
        409: {"model": Problem},
    },
)
def job_result(svc: Svc, job_id: str) -> FileResponse:
    """The generated rows as CSV with a header; a database's twin as a zip of CSV files."""
    return result_response(svc.result_file(job_id), job_id)


def result_response(path: Any, job_id: str) -> FileResponse:
    if str(path).endswith(".zip"):
        return FileResponse(path, media_type="application/zip", filename=f"synthetic-{job_id}.zip")
    return FileResponse(path, media_type="text/csv", filename=f"synthetic-{job_id}.csv")


def problem(error: ServiceError) -> JSONResponse:
    body: dict[str, Any] = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(body, status_code=error.status, headers=headers)
