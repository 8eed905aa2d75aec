"""Schemathesis against the service's OpenAPI document: every endpoint, a few generated
requests each (valid and invalid), authenticated; no answer may be a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from service_harness import AUTH, TOKEN  # noqa: E402
from synthdb.service.app import create_app  # noqa: E402
from synthdb.service.settings import Settings  # noqa: E402

#: Generated requests per operation: enough to reach each error path, quick on two cores.
EXAMPLES = 25


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("fuzz")
    application = create_app(
        Settings(data_dir=folder, token=TOKEN, worker_threads=1, poll_seconds=0.2)
    )
    with TestClient(application) as client:  # runs the lifespan: supervisor, token
        csv = b"a,b,c\n" + b"".join(f"{i},x{i % 3},{i % 7}\n".encode() for i in range(40))
        response = client.post("/api/v1/datasets", files={"file": ("t.csv", csv)}, headers=AUTH)
        assert response.status_code == 201
        yield application


def test_no_server_errors(app: Any) -> None:
    """Each operation in turn, so a failure names it; Hypothesis draws the requests."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error])

        try:
            check()
        except Exception as exc:  # collect all, then report every endpoint that failed
            failures.append(f"{operation.label}: {str(exc).strip().splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_no_server_errors_without_a_token(app: Any) -> None:
    with TestClient(app) as client:
        for path in ("/api/v1/models", "/api/v1/jobs", "/api/v1/datasets"):
            assert client.get(path).status_code == 401
