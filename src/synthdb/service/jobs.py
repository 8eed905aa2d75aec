"""Background jobs: a queue in the state database, worker processes, a supervisor thread.

The web process never trains. A supervisor thread in it looks at the queue (every
``poll_seconds``, or at once when a request queues or cancels something), claims the oldest
queued job with a conditional update and starts it in a fresh *process* (``python -m
synthdb.service.jobs JOB_ID``: nothing of the web process's threads, sockets or memory is
inherited, and the state URL travels in the environment, not on the command line where
``ps`` would show a password), at most ``--workers`` at a time. The
worker writes its progress and its end into the job's row itself.

- **Cancel**: a queued job is cancelled at once; a running one is flagged, and the supervisor
  terminates its process (SIGTERM, then SIGKILL after 5 s) and marks it ``cancelled``.
- **A worker that dies** (out of memory, killed) is marked ``failed`` with its exit code.
- **Restarts**: jobs left ``running`` by a service that stopped are marked ``interrupted`` at
  the next start-up (not resumed: a resumed training would not be the same training, and
  generation is cheap to ask again). A worker whose service died notices within a second (its
  parent is gone) and exits; one that still writes finds its job no longer ``running`` and
  stops. Queued jobs stay queued and run after the restart.
- Outputs are written under temporary names and renamed when whole (the library's sinks), and
  the files of jobs that did not succeed are removed, so nothing half-written is ever served.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from synthdb.errors import SynthdbError
from synthdb.service.security import Secrets, mask, passwords
from synthdb.service.settings import Layout
from synthdb.service.state import State

log = logging.getLogger("synthdb.serve")


class Supervisor:
    """Starts queued jobs in worker processes and watches them; one per web process."""

    def __init__(
        self,
        state: State,
        layout: Layout,
        workers: int,
        poll_seconds: float,
        threads: int | None = None,
    ) -> None:
        self.state = state
        self.layout = layout
        self.workers = max(1, workers)
        # PyTorch threads per job: the cores shared among the workers, unless OMP_NUM_THREADS
        # (or the settings) say otherwise
        if threads is None and "OMP_NUM_THREADS" not in os.environ:
            threads = max(1, _cores() // self.workers)
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def recover(self) -> list[str]:
        """At start-up, before any job runs: mark what a stopped service left running."""
        marked = self.state.mark_interrupted()
        for job_id in marked:
            log.warning("job %s was running when the service stopped: marked interrupted", job_id)
            self._clean(job_id)
        return marked

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="synthdb-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """On shutdown: stop the loop, end the running workers, mark their jobs interrupted."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job_id, process in list(self.processes.items()):
            _end(process)
            if self.state.finish(
                job_id,
                "interrupted",
                error="interrupted: the service stopped while this job ran; start it again",
            ):
                self._clean(job_id)
        self.processes.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the database may be briefly unreachable: try again later
                log.exception("job supervisor")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def tick(self) -> None:
        self._reap()
        self._cancel()
        while len(self.processes) < self.workers and not self._stop.is_set():
            job = self.state.claim_next()
            if job is None:
                break
            self._launch(job["id"])

    def _launch(self, job_id: str) -> None:
        environment = {**os.environ, STATE_VARIABLE: self.state.url}
        if self.threads is not None:
            environment[THREADS_VARIABLE] = str(self.threads)
        try:
            self.layout.job_dir(job_id).mkdir(parents=True, exist_ok=True)
            with self.layout.job_log(job_id).open("ab") as log_file:
                process = subprocess.Popen(
                    [sys.executable, "-m", "synthdb.service.jobs", str(self.layout.root), job_id],
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    close_fds=True,
                )
        except OSError as exc:  # no process, so nothing would ever end the claimed job
            self.state.finish(job_id, "failed", error=f"cannot start a worker process: {exc}")
            log.error("job %s: cannot start a worker process: %s", job_id, exc)
            return
        self.processes[job_id] = process
        self.state.set_pid(job_id, process.pid)
        log.info("job %s started in process %s", job_id, process.pid)

    def _reap(self) -> None:
        for job_id, process in list(self.processes.items()):
            code = process.poll()
            if code is None:
                continue
            del self.processes[job_id]
            if self.state.finish(
                job_id,
                "failed",
                error=f"the worker process ended unexpectedly (exit code {code}; out of memory?)",
            ):
                log.error("job %s: worker process ended with exit code %s", job_id, code)
            job = self.state.job(job_id)
            if job is not None and job["status"] != "succeeded":
                self._clean(job_id)

    def _cancel(self) -> None:
        for job_id in self.state.cancel_requested():
            process = self.processes.pop(job_id, None)
            if process is not None:
                _end(process)
            if self.state.finish(job_id, "cancelled", error="cancelled"):
                log.info("job %s cancelled", job_id)
                self._clean(job_id)

    def _clean(self, job_id: str) -> None:
        """Remove what a job that did not succeed wrote (its model folder, for training)."""
        job = self.state.job(job_id)
        if job is None:
            return
        shutil.rmtree(self.layout.job_dir(job_id) / "work", ignore_errors=True)
        if job["kind"] == "generate":
            self.layout.result_file(job_id).unlink(missing_ok=True)
            self.layout.result_zip(job_id).unlink(missing_ok=True)
        elif job["kind"] == "train":
            shutil.rmtree(self.layout.model_dir(job["model_id"]), ignore_errors=True)


def _end(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# ---------------------------------------------------------------- the worker process
#: The environment variables that hand the state URL and a thread count to a worker.
STATE_VARIABLE = "SYNTHDB_STATE_URL"
THREADS_VARIABLE = "SYNTHDB_WORKER_THREADS"
#: Workers run at a lower priority than the web process, so pages and polls stay quick
#: while the machine trains.
WORKER_NICENESS = 5


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_main(root: str, job_id: str) -> None:
    """Entry point of a worker process: run one job, record how it ended, exit."""
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    layout = Layout(Path(root))
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    threads = os.environ.get(THREADS_VARIABLE)
    if threads:  # the cores shared among --workers jobs, so they do not oversubscribe
        import torch

        torch.set_num_threads(int(threads))
    logging.basicConfig(
        stream=sys.stderr,  # the job's log file
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    state = State(os.environ[STATE_VARIABLE])
    try:
        run_job(state, layout, job_id, Secrets(os.environ.get("SYNTHDB_SECRET_KEY")))
    finally:
        state.close()
        logging.shutdown()
    os._exit(0)  # skip interpreter teardown (PyTorch's takes a while); everything is closed


def _watch_parent(parent: int) -> None:
    """Exit when the service that started us is gone (killed): its successor will mark the
    job interrupted, and nobody would read what we write."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def run_job(state: State, layout: Layout, job_id: str, secrets: Secrets) -> None:
    from synthdb.service import tasks

    job = state.job(job_id)
    if job is None or job["status"] != "running":
        return
    model = state.model(job["model_id"])
    assert model is not None
    params: dict[str, Any] = json.loads(job["params_json"])
    progress = tasks.Progress(lambda data: state.update_progress(job_id, data))
    hidden: list[str] = []
    work = layout.job_dir(job_id) / "work"
    work.mkdir(parents=True, exist_ok=True)
    progress.hide = tasks.hider(layout.root, {}, hidden)
    try:
        if job["kind"] == "train":
            dataset = state.dataset(model["dataset_id"])
            if dataset is None:
                raise SynthdbError(f"dataset {model['dataset_id']} is gone")
            training = tasks.config_from(params["config"])
            source = source_of(dataset, layout, secrets, training.table)
            hidden = passwords(source.location)
            progress.hide = tasks.hider(layout.root, {source.location: source.shown}, hidden)
            layout.model_dir(model["id"]).mkdir(parents=True, exist_ok=True)
            summary = tasks.train(
                source,
                training,
                layout.model_file(model["id"]),
                layout.report_file(model["id"]) if params.get("report", True) else None,
                work,
                progress,
            )
            progress.data["phase"] = "done"
            state.finish(job_id, "succeeded", progress=progress.data, summary=summary, result={})
        else:
            target = params.get("target_dataset_id")
            shown = "download"
            if target:
                database = state.dataset(target)
                if database is None or database["kind"] != "url":
                    raise SynthdbError(f"target {target} is not a registered database")
                output = secrets.reveal(database["url_secret"])
                hidden = passwords(output)
                shown = database["url_display"]
            else:
                output = str(layout.result_file(job_id))
            progress.hide = tasks.hider(layout.root, {}, hidden)
            summary = json.loads(model["summary_json"] or "{}")
            folder = work / "tables"
            whole = summary.get("kind") == "database" and not target
            result = tasks.generate(
                layout.model_file(model["id"]),
                str(folder) if whole else output,
                summary,
                params,
                progress,
            )
            if whole:
                progress.phase("packing the tables")
                _zip(folder, layout.result_zip(job_id))
            result["output"] = shown
            result["table"] = params.get("table")
            progress.data["phase"] = "done"
            state.finish(job_id, "succeeded", progress=progress.data, result=result)
    except tasks.JobGone:
        log.info("job %s is no longer running here; stopping", job_id)
    except SynthdbError as exc:
        message = progress.hide(str(exc))
        log.info("job %s failed: %s", job_id, message)
        _failed(state, layout, job_id, message, progress)
    except MemoryError:
        _failed(
            state,
            layout,
            job_id,
            "out of memory (ask for fewer rows, a smaller "
            "batch size, or run on a machine with more memory)",
            progress,
        )
    except Exception as exc:
        log.error("job %s: %s", job_id, mask(traceback.format_exc(), hidden))
        lines = str(exc).strip().splitlines()
        detail = f": {progress.hide(lines[0])}" if lines else ""
        _failed(
            state,
            layout,
            job_id,
            f"unexpected {type(exc).__name__}{detail} (a bug in synthdb: the traceback is in "
            f"the job's log, jobs/{job_id}/worker.log in the data folder)",
            progress,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _zip(folder: Path, target: Path) -> None:
    """The twin's CSV files as one zip, written under a temporary name, then renamed."""
    import zipfile

    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, arcname=path.name)
    partial.replace(target)


def _failed(state: State, layout: Layout, job_id: str, message: str, progress: Any) -> None:
    progress.data["phase"] = "failed"
    if state.finish(job_id, "failed", error=message, progress=progress.data):
        job = state.job(job_id)
        if job is not None and job["kind"] == "train":
            shutil.rmtree(layout.model_dir(job["model_id"]), ignore_errors=True)
        elif job is not None:
            layout.result_file(job_id).unlink(missing_ok=True)
            layout.result_zip(job_id).unlink(missing_ok=True)


def source_of(dataset: dict[str, Any], layout: Layout, secrets: Secrets, table: str | None) -> Any:
    """The library's view of a dataset: a file path or a database URL, and its table."""
    from synthdb.service.tasks import Source
    from synthdb.service.uploads import location_of

    chosen = table
    if dataset["kind"] == "file":
        _, location = location_of(layout.dataset_dir(dataset["id"]), dataset["format"])
    else:
        location = secrets.reveal(dataset["url_secret"])
    info = json.loads(dataset["schema_json"])
    whole = chosen is None and bool(info.get("database"))
    if chosen is None and not whole and "://" in location:  # a database of one table
        chosen = info["tables"][0]["name"]
    views = [t for t in info["tables"] if chosen is None or t["name"] == chosen]
    view = views[0] if len(views) == 1 and not whole else {}
    return Source(
        location=location,
        table=chosen,
        shown=dataset["name"],
        database=whole,
        rows=view.get("rows"),
        distinct={c["name"]: c["distinct"] for c in view.get("columns", []) if "distinct" in c},
    )


if __name__ == "__main__":
    worker_main(sys.argv[1], sys.argv[2])
