"""``synthdb serve``: the web app and REST API (needs the ``serve`` extra)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

INSTALL = "pip install 'synthdb[serve]'"


def serve(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            help="folder for uploads, models, generated rows and (by default) the state "
            "database. Default: ./synthdb-data.",
            show_default=False,
        ),
    ] = Path("synthdb-data"),
    host: Annotated[
        str,
        typer.Option("--host", help="address to listen on; 0.0.0.0 opens it to the network"),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="jobs run at once, each in its own process"),
    ] = 1,
    state_url: Annotated[
        str | None,
        typer.Option(
            "--state-url",
            help="SQLAlchemy URL of the state database, e.g. postgresql+psycopg://user@host/db. "
            "Default: an SQLite file in --data-dir.",
            show_default=False,
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="largest upload accepted, in MB")
    ] = 1024,
) -> None:
    """Serve the web app and the REST API (/api/v1, OpenAPI at /docs): upload data, train
    models as background jobs, generate rows. Secrets come from the environment:
    SYNTHDB_TOKEN (the API token; default: one made at first start and printed once) and
    SYNTHDB_SECRET_KEY (encrypts the passwords of registered database URLs)."""
    try:
        import uvicorn

        from synthdb.service.app import create_app
        from synthdb.service.settings import Settings
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "a dependency"
        print(f"error: synthdb serve needs {missing}: {INSTALL}", file=sys.stderr)
        raise typer.Exit(1) from None

    settings = Settings.from_environment(
        data_dir,
        state_url=state_url,
        host=host,
        port=port,
        workers=workers,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
    )

    def show_token(token: str) -> None:
        print(
            f"API token (shown once; keep it, or set SYNTHDB_TOKEN): {token}",
            file=sys.stderr,
            flush=True,
        )

    try:
        app = create_app(settings, on_token=show_token)
    except Exception as exc:  # the state database cannot be opened, the folder not made
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        from synthdb.service.security import mask, passwords

        print(f"error: cannot start: {mask(first, passwords(state_url or ''))}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(f"synthdb serve: open http://{host}:{port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True)
