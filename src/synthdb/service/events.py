"""A job's progress as Server-Sent Events: ``GET /api/v1/jobs/{id}/events`` (token) and
``/jobs/{id}/events`` (the job page, signed in).

Each event's data is the job as ``GET /api/v1/jobs/{id}`` returns it, sent when it changes;
the stream ends after the job has finished. The worker writes progress into the job's row at
most every 0.5 s, so the stream reads the row at that pace. An async generator holds no thread
while it waits (each read runs in the thread pool), so one open page costs a socket, not a
worker thread. ``curl -N`` follows a training from a shell or a CI job.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from synthdb.service.api import ERRORS, require_token
from synthdb.service.core import Service
from synthdb.service.web import signed_in

#: Seconds between two reads of the job's row.
INTERVAL = 0.5
#: Seconds of silence after which a comment line keeps proxies from closing the stream.
KEEP_ALIVE = 15.0
#: Statuses after which a job no longer changes.
RUNNING = ("queued", "running")

api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
page_router = APIRouter(include_in_schema=False, dependencies=[Depends(signed_in)])


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _events(request: Request, service: Service, job_id: str) -> AsyncIterator[str]:
    last = ""
    quiet = 0.0
    while True:
        view = await run_in_threadpool(lambda: service.job_view(service.job(job_id)))
        text = json.dumps(view, separators=(",", ":"), default=str)
        if text != last:
            last, quiet = text, 0.0
            yield f"data: {text}\n\n"
        elif quiet >= KEEP_ALIVE:
            quiet = 0.0
            yield ": still running\n\n"
        if view["status"] not in RUNNING or await request.is_disconnected():
            return
        await asyncio.sleep(INTERVAL)
        quiet += INTERVAL


def _stream(request: Request, job_id: str) -> StreamingResponse:
    service = _service(request)
    service.job(job_id)  # an unknown id is a 404 before the stream starts
    return StreamingResponse(
        _events(request, service, job_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@api_router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
)
def job_events(request: Request, job_id: str) -> StreamingResponse:
    """The job's status and progress as Server-Sent Events, one event per change (each the
    job as ``GET /jobs/{job_id}`` returns it), until it has finished."""
    return _stream(request, job_id)


@page_router.get("/jobs/{job_id}/events")
def page_job_events(request: Request, job_id: str) -> StreamingResponse:
    return _stream(request, job_id)
