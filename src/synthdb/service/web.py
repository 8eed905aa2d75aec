"""The pages: server-rendered Jinja2, one small script for live progress, no build step.

Signing in with the API token opens a session (a signed cookie, SameSite=strict, HttpOnly);
every form carries the session's CSRF token as well, checked on each POST.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from synthdb.config import PRESETS, PRIVACY_PRESETS
from synthdb.service.api import report_response, result_response
from synthdb.service.core import Service, ServiceError

templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("synthdb.service", "templates"),
        autoescape=select_autoescape(["html"]),
    )
)

#: Content Security Policy of the pages: scripts and styles from this server only.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)

#: The new-model form's fields, in order: (name, label, help).
MODEL_FIELDS = [
    ("purpose", "Purpose", "preset: fills max epochs and the NULL policy"),
    ("max_epochs", "Max epochs", "1-100000; training stops earlier once accuracy stops improving"),
    ("nulls", "NULL policy", "replace, drop or keep NULL values"),
    (
        "privacy",
        "Privacy",
        "differential privacy: high (epsilon 1), medium (5), low (20), or your own epsilon",
    ),
    ("epsilon", "Epsilon", "privacy budget (with 'own epsilon')"),
    ("microbatches", "Micro-batches", "groups per batch whose gradient is clipped (DP)"),
    ("clip", "Clipping norm", "L2 bound of each group's gradient (DP)"),
    ("noise_multiplier", "Noise multiplier", "noise std / clip, or auto (DP)"),
    ("learning_rate", "Learning rate", "AdamW step size, 0-1 (default 0.003)"),
    ("batch_size", "Batch size", "rows per step (default scales with rows)"),
]


def service(request: Request) -> Service:
    return request.app.state.service


def signed_in(request: Request) -> str:
    user = request.session.get("user")
    if not user:
        raise ServiceError(401, "sign in first")
    return str(user)


router = APIRouter(include_in_schema=False)
User = Annotated[str, Depends(signed_in)]
Csrf = Annotated[str, Form(alias="csrf")]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, given: str) -> None:
    expected = request.session.get("csrf")
    if not expected or not hmac.compare_digest(str(expected), given):
        raise ServiceError(403, "the form is stale or came from elsewhere; reload the page")


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", request.session.get("user"))
    context["csrf"] = csrf_token(request)
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status=status, status_code=status, message=message)


def to_signin(request: Request) -> Response:
    return RedirectResponse("/signin", status_code=303)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- signing in
@router.get("/")
def home(request: Request) -> Response:
    return back("/datasets" if request.session.get("user") else "/signin")


@router.get("/signin")
def signin_page(request: Request) -> Response:
    return render(request, "signin.html")


@router.post("/signin")
def signin(
    request: Request, csrf: Csrf, token: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    check_csrf(request, csrf)
    user = service(request).tokens.user(token.strip())
    if user is None:
        return render(request, "signin.html", status=401, error="that token is not valid")
    request.session.clear()
    request.session["user"] = user
    request.session["csrf"] = secrets.token_urlsafe(32)  # a new session, a new CSRF token
    return back("/datasets")


@router.post("/signout")
def signout(request: Request, csrf: Csrf) -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return back("/signin")


# ---------------------------------------------------------------- data sources
@router.get("/datasets")
def datasets_page(request: Request, user: User) -> Response:
    svc = service(request)
    rows = [svc.dataset_view(row) for row in svc.state.datasets()]
    return render(request, "datasets.html", datasets=rows)


@router.post("/datasets/upload")
def upload(
    request: Request, user: User, csrf: Csrf, file: Annotated[UploadFile, File()]
) -> Response:
    check_csrf(request, csrf)
    svc = service(request)
    try:
        dataset_id = svc.upload(file.file, file.filename)
    except ServiceError as exc:
        rows = [svc.dataset_view(row) for row in svc.state.datasets()]
        return render(
            request, "datasets.html", status=exc.status, datasets=rows, upload_error=exc.message
        )
    return back(f"/datasets/{dataset_id}")


@router.post("/datasets/url")
def register(
    request: Request,
    user: User,
    csrf: Csrf,
    url: Annotated[str, Form(max_length=4000)] = "",
    table: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    svc = service(request)
    try:
        dataset_id = svc.register_url(url, table or None, name or None)
    except ServiceError as exc:
        rows = [svc.dataset_view(row) for row in svc.state.datasets()]
        # the URL typed is not sent back: it may hold a password
        return render(
            request, "datasets.html", status=exc.status, datasets=rows, url_error=exc.message
        )
    return back(f"/datasets/{dataset_id}")


@router.get("/datasets/{dataset_id}")
def dataset_page(request: Request, user: User, dataset_id: str) -> Response:
    svc = service(request)
    view = svc.dataset_view(svc.dataset(dataset_id), schema=True)
    models = [svc.model_view(m) for m in svc.state.models() if m["dataset_id"] == dataset_id]
    return render(request, "dataset.html", dataset=view, models=models)


# ---------------------------------------------------------------- models
@router.get("/models")
def models_page(request: Request, user: User) -> Response:
    svc = service(request)
    names = {d["id"]: d["name"] for d in svc.state.datasets()}
    rows = [svc.model_view(m) for m in svc.state.models()]
    return render(request, "models.html", models=rows, names=names)


@router.get("/models/new")
def new_model_page(request: Request, user: User, dataset: str = "") -> Response:
    svc = service(request)
    view = svc.dataset_view(svc.dataset(dataset))
    return _model_form(request, view, {"purpose": "analytics"}, {}, None)


def _model_form(
    request: Request,
    dataset: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    general: str | None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "new_model.html",
        status=status,
        dataset=dataset,
        values=values,
        errors=errors,
        general=general,
        fields=MODEL_FIELDS,
        presets=PRESETS,
        presets_json=json.dumps(PRESETS),
        privacy_presets=PRIVACY_PRESETS,
    )


@router.post("/models/new")
def create_model(
    request: Request,
    user: User,
    csrf: Csrf,
    dataset_id: Annotated[str, Form(max_length=64)],
    purpose: Annotated[str, Form(max_length=20)] = "",
    max_epochs: Annotated[str, Form(max_length=40)] = "",
    nulls: Annotated[str, Form(max_length=20)] = "",
    privacy: Annotated[str, Form(max_length=20)] = "",
    epsilon: Annotated[str, Form(max_length=40)] = "",
    microbatches: Annotated[str, Form(max_length=40)] = "",
    clip: Annotated[str, Form(max_length=40)] = "",
    noise_multiplier: Annotated[str, Form(max_length=40)] = "",
    learning_rate: Annotated[str, Form(max_length=40)] = "",
    batch_size: Annotated[str, Form(max_length=40)] = "",
    table: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    svc = service(request)
    dataset = svc.dataset_view(svc.dataset(dataset_id))
    values = {
        "purpose": purpose,
        "max_epochs": max_epochs,
        "nulls": nulls,
        "privacy": privacy,
        "epsilon": epsilon,
        "microbatches": microbatches,
        "clip": clip,
        "noise_multiplier": noise_multiplier,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "table": table,
        "name": name,
    }
    config: dict[str, Any] = {}
    for key, value in values.items():
        value = value.strip()
        if not value or key in ("name", "privacy", "epsilon"):
            continue
        config[key.replace("_", "-")] = _typed(value)
    if privacy in PRIVACY_PRESETS:
        config["privacy"] = privacy
    elif privacy == "epsilon" or epsilon.strip():
        config["epsilon"] = _typed(epsilon.strip()) if epsilon.strip() else None
    try:
        _, job_id = svc.create_model(dataset_id, config, name or None)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        where = exc.field if exc.field in values else None
        if exc.field == "privacy" and privacy == "epsilon":
            where = "epsilon"
        errors = {where: exc.message} if where else {}
        return _model_form(
            request, dataset, values, errors, None if where else exc.message, status=422
        )
    return back(f"/jobs/{job_id}")


def _typed(value: str) -> Any:
    """A form's text as the number it spells, so the config holds JSON numbers."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


@router.get("/models/{model_id}")
def model_page(request: Request, user: User, model_id: str) -> Response:
    svc = service(request)
    model = svc.model_view(svc.model(model_id))
    dataset = svc.state.dataset(model["dataset_id"])
    jobs = [svc.job_view(j) for j in svc.state.jobs(model_id)]
    targets = [svc.dataset_view(d) for d in svc.state.datasets() if d["kind"] == "url"]
    return render(
        request,
        "model.html",
        model=model,
        dataset=svc.dataset_view(dataset) if dataset else None,
        jobs=jobs,
        targets=targets,
        values={"rows": "", "seed": "0"},
    )


@router.get("/models/{model_id}/report")
def model_report(request: Request, user: User, model_id: str) -> Response:
    return report_response(service(request).ready_file(model_id, "report"))


@router.get("/models/{model_id}/file")
def model_file(request: Request, user: User, model_id: str) -> Response:
    return FileResponse(
        service(request).ready_file(model_id, "file"),
        media_type="application/octet-stream",
        filename=f"model-{model_id}.synthdb",
    )


@router.post("/models/{model_id}/generate")
def generate(
    request: Request,
    user: User,
    csrf: Csrf,
    model_id: str,
    rows: Annotated[str, Form(max_length=40)] = "",
    scale: Annotated[str, Form(max_length=40)] = "",
    sequences: Annotated[str, Form(max_length=40)] = "",
    seed: Annotated[str, Form(max_length=40)] = "0",
    target: Annotated[str, Form(max_length=64)] = "",
    table: Annotated[str, Form(max_length=63)] = "",
    overwrite: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, csrf)
    svc = service(request)
    try:
        count = _bounded(rows, "rows", int, 1, 1_000_000_000)
        factor = _bounded(scale, "scale", float, 1e-9, 1000)
        whole = _bounded(sequences, "sequences", int, 1, 1_000_000_000)
        drawn = _bounded(seed or "0", "seed", int, 0, 2**63 - 1)
        job_id = svc.generate(
            model_id,
            count,
            factor,
            drawn or 0,
            target or None,
            table or None,
            bool(overwrite),
            whole,
        )
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        model = svc.model_view(svc.model(model_id))
        dataset = svc.state.dataset(model["dataset_id"])
        return render(
            request,
            "model.html",
            status=exc.status,
            model=model,
            dataset=svc.dataset_view(dataset) if dataset else None,
            jobs=[svc.job_view(j) for j in svc.state.jobs(model_id)],
            targets=[svc.dataset_view(d) for d in svc.state.datasets() if d["kind"] == "url"],
            values={
                "rows": rows,
                "scale": scale,
                "sequences": sequences,
                "seed": seed,
                "table": table,
            },
            generate_error=exc.message,
        )
    return back(f"/jobs/{job_id}")


def _bounded(text: str, name: str, kind: type, low: float, high: float) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ServiceError(422, f"{name} must be a number (got {text[:40]!r})", name) from None
    if not low <= value <= high:
        raise ServiceError(422, f"{name} must be between {low:g} and {high:g}", name)
    return value


# ---------------------------------------------------------------- jobs
@router.get("/jobs")
def jobs_page(request: Request, user: User) -> Response:
    svc = service(request)
    return render(request, "jobs.html", jobs=[svc.job_view(j) for j in svc.state.jobs()])


@router.get("/jobs/{job_id}")
def job_page(request: Request, user: User, job_id: str) -> Response:
    svc = service(request)
    job = svc.job_view(svc.job(job_id))
    model = svc.model_view(svc.model(job["model_id"]))
    return render(request, "job.html", job=job, model=model)


@router.get("/jobs/{job_id}/progress.json")
def job_progress(request: Request, user: User, job_id: str) -> Response:
    svc = service(request)
    return JSONResponse(svc.job_view(svc.job(job_id)), headers={"Cache-Control": "no-store"})


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, user: User, csrf: Csrf, job_id: str) -> Response:
    check_csrf(request, csrf)
    service(request).cancel(job_id)
    return back(f"/jobs/{job_id}")


@router.get("/jobs/{job_id}/result")
def result(request: Request, user: User, job_id: str) -> Response:
    return result_response(service(request).result_file(job_id), job_id)
