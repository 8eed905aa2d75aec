"""What the API and the pages both do: datasets, models, jobs. One place decides each rule
(sizes, ids, conflicts), and both faces map :class:`ServiceError` to their HTTP answers."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from synthdb.errors import SynthdbError, UsageError
from synthdb.service import uploads
from synthdb.service.jobs import Supervisor
from synthdb.service.security import Secrets, Tokens, mask, passwords
from synthdb.service.settings import Layout, Settings
from synthdb.service.state import Conflict, State, new_id

if TYPE_CHECKING:
    from synthdb.service.tasks import Training


class ServiceError(Exception):
    """A request that cannot be served: HTTP ``status``, a one-line ``message`` and, for a
    configuration key, the ``field`` it is about."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def not_found(what: str, given: str) -> ServiceError:
    shown = given if re.fullmatch(r"[\w\-]{1,64}", given) else "that id"
    return ServiceError(404, f"no {what} {shown}")


class Service:
    """One running service: its state, files, tokens and job supervisor."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.layout = Layout(settings.data_dir)
        self.state = State(settings.resolved_state_url)
        self.tokens = Tokens(self.state, settings.token)
        self.secrets = Secrets(settings.secret_key)
        self.supervisor = Supervisor(
            self.state,
            self.layout,
            settings.workers,
            settings.poll_seconds,
            settings.worker_threads,
        )

    def prepare(self) -> None:
        """Create the folders and tables that are missing."""
        self.layout.make()
        self.state.create()

    def open(self) -> str | None:
        """Mark interrupted jobs, start the supervisor; returns a new token when one was made
        (to be printed once)."""
        token = self.tokens.ensure()
        self.supervisor.recover()
        self.supervisor.start()
        return token

    def close(self) -> None:
        self.supervisor.stop()
        self.state.close()

    def session_key(self) -> str:
        return self.state.meta_value("session_key", lambda: secrets.token_urlsafe(32))

    # ------------------------------------------------------------ datasets
    def upload(self, stream: BinaryIO, filename: str | None, name: str | None = None) -> str:
        shown = uploads.label(name or filename)
        folder = self.layout.uploads() / secrets.token_hex(8)
        folder.mkdir(parents=True)
        try:
            part = folder / "upload.part"
            size = uploads.receive(stream, part, self.settings.max_upload_bytes)
            fmt = uploads.sniff(part)
            file, location = uploads.location_of(folder, fmt)
            part.rename(folder / file)
            hide = _replacer({location: shown, str(folder / file): shown, str(folder): "upload"})
            view = uploads.describe(location, None, shown, hide)
            dataset_id = new_id()
            target = self.layout.dataset_dir(dataset_id)
            folder.rename(target)
            try:
                self.state.add_dataset(
                    id=dataset_id,
                    name=shown,
                    kind="file",
                    format=fmt,
                    file=file,
                    size=size,
                    schema_json=json.dumps(view),
                )
            except Exception:
                shutil.rmtree(target, ignore_errors=True)
                raise
            return dataset_id
        except uploads.UploadError as exc:
            raise ServiceError(exc.status, exc.message) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def register_url(self, url: str, table: str | None, name: str | None) -> str:
        url = url.strip()
        try:
            stored, shown = self.secrets.store(url)
            real = self.secrets.reveal(stored)
        except SynthdbError as exc:
            raise ServiceError(422, mask(str(exc), passwords(url))) from None
        hidden = passwords(real) + passwords(url)
        if "://" not in real:
            raise ServiceError(422, "a database URL looks like dialect://user@host/database")
        try:
            view = uploads.describe(real, table or None, shown, lambda s: mask(s, hidden))
        except uploads.UploadError as exc:
            raise ServiceError(exc.status, exc.message) from None
        backend = real.split("://", 1)[0].split("+", 1)[0]
        return self.state.add_dataset(
            name=uploads.label(name) if name else shown,
            kind="url",
            format=backend,
            url_secret=stored,
            url_display=shown,
            schema_json=json.dumps(view),
        )

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        row = self.state.dataset(dataset_id)
        if row is None:
            raise not_found("dataset", dataset_id)
        return row

    @staticmethod
    def dataset_view(row: dict[str, Any], schema: bool = False) -> dict[str, Any]:
        info = json.loads(row["schema_json"])
        view: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "kind": row["kind"],
            "format": row["format"],
            "size": row["size"],
            "created_at": row["created_at"],
            "tables": [t["name"] for t in info["tables"]],
            "database": bool(info.get("database")),
            "rows": info["tables"][0].get("rows") if len(info["tables"]) == 1 else None,
        }
        if row["kind"] == "url":
            view["url"] = row["url_display"]  # the password is never sent back
        if schema:
            view["schema"] = info["tables"]
        return view

    # ------------------------------------------------------------ models
    def create_model(
        self, dataset_id: str, config: Any, name: str | None = None, report: bool = True
    ) -> tuple[str, str]:
        from synthdb.service.tasks import config_from

        dataset = self.dataset(dataset_id)
        try:
            training = config_from(config)
            self._check_training(dataset, training)
        except UsageError as exc:
            raise ServiceError(422, str(exc), _field(str(exc))) from None
        label = uploads.label(name) if name else f"{dataset['name']} model"
        model_id, job_id = self.state.add_model_with_job(
            label, dataset["id"], config, {"config": config, "report": report}
        )
        self.supervisor.wake()
        return model_id, job_id

    @staticmethod
    def _check_training(dataset: dict[str, Any], training: Training) -> None:
        """What the config asks of this dataset, checked before a job is queued: the table
        exists, and a database's settings are for a database, a table's for a table."""
        from synthdb.pipeline.inputs import refuse_sequences_for_database
        from synthdb.relational.sequence_table import check_sequence_settings

        info = json.loads(dataset["schema_json"])
        views = {t["name"]: t for t in info["tables"]}
        table = training.table
        if table is not None and table not in views and dataset["kind"] != "file":
            raise UsageError(
                f"`table`: {dataset['name']} has no table {table!r} ({', '.join(views)})"
            )
        whole = table is None and bool(info.get("database"))
        if whole:
            if training.config.privacy:
                raise UsageError(
                    "`privacy`: the service trains one table under differential privacy; a "
                    "whole database under DP (its subject, public tables) runs from a job file "
                    "with synthdb run, or pick one table with config table: NAME",
                )
            refuse_sequences_for_database(training.sequence_key, training.order_by or None, None)
            unknown = sorted(set(training.tables or {}) - set(views))
            if unknown:
                raise UsageError(
                    f"`tables`: {dataset['name']} has no table {unknown[0]!r} ({', '.join(views)})"
                )
            return
        if training.tables:
            raise UsageError(
                f"`tables` describes the tables of a database; {dataset['name']} is read as "
                "one table here",
                hint="leave out config table: NAME to train every table of the database"
                if info.get("database")
                else None,
            )
        if training.sequence_key is not None:
            only = next(iter(views.values())) if len(views) == 1 else None
            view = views.get(table, only) if table is not None else only
            columns = [c["name"] for c in (view or {}).get("columns", [])]
            try:
                if columns:
                    check_sequence_settings(
                        columns, training.sequence_key, training.order_by, training.config
                    )
                else:  # a table the schema view did not describe: its columns are unknown
                    check_sequence_settings(
                        [training.sequence_key, *training.order_by],
                        training.sequence_key,
                        training.order_by,
                        training.config,
                    )
            except UsageError as exc:
                where = "privacy" if training.config.privacy else "sequence_key"
                if "order column" in exc.message:
                    where = "order_by"
                raise UsageError(f"`{where}`: {exc}") from None

    def model(self, model_id: str) -> dict[str, Any]:
        row = self.state.model(model_id)
        if row is None:
            raise not_found("model", model_id)
        return row

    def model_view(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "dataset_id": row["dataset_id"],
            "status": row["status"],
            "config": json.loads(row["config_json"]),
            "created_at": row["created_at"],
            "train_job_id": row["train_job"],
            "busy_job_id": row["busy_job"],
            "summary": json.loads(row["summary_json"]) if row["summary_json"] else None,
            "error": row["error"],
            "report": self.layout.report_file(row["id"]).is_file(),
        }

    def ready_file(self, model_id: str, what: str) -> Path:
        """The model's file or report, once the model is ready."""
        row = self.model(model_id)
        if row["status"] != "ready":
            why = f": {row['error']}" if row["error"] else ""
            raise ServiceError(409, f"model {model_id} is {row['status']}{why}")
        path = (
            self.layout.report_file(model_id)
            if what == "report"
            else self.layout.model_file(model_id)
        )
        if not path.is_file():
            raise ServiceError(404, f"model {model_id} has no {what}")
        return path

    def generate(
        self,
        model_id: str,
        rows: int | None,
        scale: float | None,
        seed: int,
        target_dataset_id: str | None = None,
        table: str | None = None,
        overwrite: bool = False,
        sequences: int | None = None,
    ) -> str:
        from synthdb.pipeline.inputs import check_generation

        row = self.model(model_id)
        given = (("rows", rows), ("scale", scale), ("sequences", sequences))
        asked = [name for name, value in given if value is not None]
        if len(asked) > 1:
            raise ServiceError(
                422, f"give one of rows, scale or sequences, not {' and '.join(asked)}", asked[1]
            )
        kind = json.loads(row["summary_json"] or "{}").get("kind", "table")
        try:  # a table's model takes scale too: a multiple of its training rows
            check_generation(
                kind,
                rows=rows,
                scale=None if kind == "table" else scale,
                sequences=sequences,
                table=table if kind == "database" else None,
            )
        except UsageError as exc:
            raise ServiceError(422, str(exc), _field(str(exc))) from None
        if target_dataset_id:
            target = self.dataset(target_dataset_id)
            if target["kind"] != "url":
                raise ServiceError(
                    422,
                    f"dataset {target_dataset_id} is an upload; generate to a registered "
                    "database URL, or leave the target out to download the rows",
                    "target_dataset_id",
                )
        if table is not None and not re.fullmatch(r"[A-Za-z_][\w]{0,62}", table):
            raise ServiceError(422, f"table must be a plain SQL name (got {table[:70]!r})", "table")
        params = {
            "rows": rows,
            "scale": scale,
            "sequences": sequences,
            "seed": seed,
            "target_dataset_id": target_dataset_id or None,
            "table": table,
            "overwrite": overwrite,
        }
        try:
            job_id = self.state.add_generate_job(model_id, params)
        except Conflict as exc:
            raise ServiceError(409, str(exc)) from None
        except KeyError:
            raise not_found("model", model_id) from None
        self.supervisor.wake()
        return job_id

    # ------------------------------------------------------------ jobs
    def job(self, job_id: str) -> dict[str, Any]:
        row = self.state.job(job_id)
        if row is None:
            raise not_found("job", job_id)
        return row

    @staticmethod
    def job_view(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "model_id": row["model_id"],
            "status": row["status"],
            "progress": json.loads(row["progress_json"]),
            "params": json.loads(row["params_json"]) if row["kind"] == "generate" else None,
            "result": json.loads(row["result_json"]) if row["result_json"] else None,
            "error": row["error"],
            "cancel_requested": bool(row["cancel_requested"]),
            "created_at": row["created_at"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
        }

    def cancel(self, job_id: str) -> dict[str, Any]:
        self.job(job_id)
        self.state.request_cancel(job_id)
        self.supervisor.wake()
        return self.job(job_id)

    def result_file(self, job_id: str) -> Path:
        row = self.job(job_id)
        if row["kind"] != "generate":
            raise ServiceError(
                404, f"job {job_id} trained a model; it has no rows (download the model instead)"
            )
        if row["status"] != "succeeded":
            why = f": {row['error']}" if row["error"] else ""
            raise ServiceError(409, f"job {job_id} is {row['status']}{why}; no rows to download")
        path = self.layout.result_file(job_id)
        if not path.is_file():
            path = self.layout.result_zip(job_id)
        if not path.is_file():
            raise ServiceError(404, f"job {job_id} wrote its rows to a database, not to a download")
        return path


def _field(message: str) -> str | None:
    """The config key a message starts with: the library's ```max_epochs`: ...`` or a flag's
    ``--max-epochs: ...``."""
    found = re.match(r"`([a-z][a-z_.]*)`|--([a-z][a-z\-.]*)", message)
    if not found:
        return None
    return (found.group(1) or found.group(2)).replace("-", "_")


def _replacer(replacements: dict[str, str]) -> Any:
    def hide(text: str) -> str:
        for old in sorted(replacements, key=len, reverse=True):
            text = text.replace(old, replacements[old])
        return text

    return hide
