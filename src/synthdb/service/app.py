"""The FastAPI application: ``create_app(settings)`` wires the API, the pages and the jobs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from synthdb import __version__
from synthdb.service import api, events, web
from synthdb.service.core import Service, ServiceError
from synthdb.service.settings import Settings

log = logging.getLogger("synthdb.serve")


def create_app(settings: Settings, on_token: Callable[[str], None] | None = None) -> FastAPI:
    """The app for ``settings``. State, files and the job supervisor are opened when the app
    starts (its lifespan) and closed when it stops; a token made at first start is handed
    to ``on_token`` (``synthdb serve`` prints it) or logged."""
    service = Service(settings)
    service.prepare()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        token = service.open()
        if token is not None:
            (on_token or (lambda t: log.warning("API token (shown once): %s", t)))(token)
        try:
            yield
        finally:
            service.close()

    # FastAPI's own /docs loads its scripts from a CDN: on an offline server (the usual place
    # for production data) it is a blank page. fastapi-offline serves the same Swagger UI from
    # files in its package. No ReDoc: its page still fetches a logo from its maker's CDN.
    app = FastAPIOffline(
        title="synthdb",
        version=__version__,
        description="Synthetic twins of tables: upload data, train models as background jobs, "
        "generate synthetic rows. Every /api/v1 call needs Authorization: Bearer <token>.",
        lifespan=lifespan,
        favicon_url="/static/favicon.svg",
        redoc_url=None,
    )
    app.state.service = service
    # The session cookie is signed with a key kept in the state database (made once), so a
    # restart keeps people signed in. SameSite=strict: no other site can send it.
    app.add_middleware(
        SessionMiddleware,
        secret_key=service.session_key(),
        session_cookie="synthdb_session",
        max_age=12 * 3600,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/api/"):
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Any:
        if not request.url.path.startswith("/api/") and exc.status != 401:
            return web.error_page(request, exc.status, exc.message)
        if not request.url.path.startswith("/api/"):
            return web.to_signin(request)
        return api.problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        message = str(exc.detail)
        if not request.url.path.startswith("/api/") and request.url.path != "/healthz":
            return web.error_page(request, exc.status_code, message)
        return JSONResponse({"detail": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}".strip(": ")
        if not request.url.path.startswith("/api/"):
            return web.error_page(request, 422, message)
        return JSONResponse({"detail": message, "errors": _plain(errors)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = f"unexpected {type(exc).__name__} (a bug in synthdb: see the service's log)"
        return JSONResponse({"detail": message}, status_code=500)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: 200 without a token."""
        return {"status": "ok", "version": __version__}

    # Outermost: a body past the limit is refused while it arrives, before any parser spools it.
    app.add_middleware(BodyLimit, upload_limit=settings.max_upload_bytes)
    app.include_router(api.router)
    app.include_router(events.api_router)
    app.include_router(events.page_router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(packages=[("synthdb.service", "static")]), name="static")
    return app


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a request body over the limit (uploads: ``--max-upload-mb``
    plus room for the form around the file; anything else: 1 MB), counted as it arrives, so a
    huge upload is cut off instead of being spooled to disk first."""

    FORM_ROOM = 1024 * 1024

    def __init__(self, app: Any, upload_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        uploading = path in ("/api/v1/datasets", "/datasets/upload")
        limit = self.upload_limit + self.FORM_ROOM if uploading else self.FORM_ROOM
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        body = json.dumps(
            {"detail": f"the request is larger than the limit of {limit / 1e6:,.0f} MB"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _plain(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's error entries, reduced to what JSON can carry."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors
    ]
