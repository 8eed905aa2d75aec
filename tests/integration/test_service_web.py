"""The pages without a browser: sign-in, the session cookie, CSRF on every form, errors as
pages, and no password of a registered database on any page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from service_harness import TOKEN
from synthdb.service.app import create_app
from synthdb.service.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data", token=TOKEN, worker_threads=1, secret_key="k" * 32
    )
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: TestClient) -> str:
    csrf = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"csrf": csrf, "token": TOKEN})
    assert response.status_code == 303 and response.headers["location"] == "/datasets"
    return csrf_of(client.get("/datasets").text)


@pytest.mark.parametrize("path", ["/", "/datasets", "/models", "/jobs", "/models/new?dataset=x"])
def test_pages_need_a_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_sign_in_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    csrf = csrf_of(client.get("/signin").text)
    wrong = client.post("/signin", data={"csrf": csrf, "token": "nope"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    response = client.post("/signin", data={"csrf": csrf, "token": TOKEN})
    cookie = response.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie
    page = client.get("/datasets")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert TOKEN not in page.text


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    csrf = sign_in(client)
    files = {"file": ("t.csv", b"a,b\n1,2\n3,4\n")}
    assert client.post("/datasets/upload", files=files, data={"csrf": "forged"}).status_code == 403
    assert client.post("/datasets/upload", files=files).status_code == 422
    assert client.post("/signout", data={"csrf": "forged"}).status_code == 403
    accepted = client.post("/datasets/upload", files=files, data={"csrf": csrf})
    assert accepted.status_code == 303
    # a login form posted from elsewhere (no session, so no CSRF token) is refused too
    fresh = TestClient(client.app, follow_redirects=False)
    assert fresh.post("/signin", data={"csrf": "x", "token": TOKEN}).status_code == 403


def test_upload_errors_and_unknown_ids_are_pages(client: TestClient) -> None:
    csrf = sign_in(client)
    response = client.post("/datasets/upload", files={"file": ("x.csv", b"")}, data={"csrf": csrf})
    assert response.status_code == 400 and "empty" in response.text
    for path in ("/datasets/0123456789abcdef", "/models/nope", "/jobs/nope"):
        page = client.get(path)
        assert page.status_code == 404 and "<html" in page.text


def test_model_form_shows_the_error_next_to_its_field(client: TestClient) -> None:
    csrf = sign_in(client)
    created = client.post(
        "/datasets/upload",
        files={
            "file": ("t.csv", b"a,b\n" + b"".join(f"{i},x{i % 3}\n".encode() for i in range(30)))
        },
        data={"csrf": csrf},
    )
    dataset = created.headers["location"].rsplit("/", 1)[1]
    form = client.get(f"/models/new?dataset={dataset}").text
    assert 'value="35"' in form  # analytics fills max epochs
    for field, value, fragment in [
        ("max_epochs", "0", "greater than or equal to 1"),
        ("learning_rate", "fast", "valid number"),
        ("batch_size", "-3", "greater than or equal to 1"),
        ("clip", "0", "greater than 0"),
    ]:
        response = client.post(
            "/models/new",
            data={
                "csrf": csrf,
                "dataset_id": dataset,
                "purpose": "analytics",
                "privacy": "high" if field == "clip" else "",
                field: value,
            },
        )
        assert response.status_code == 422, (field, response.text[:300])
        error = re.search(rf'id="error-{field}">([^<]+)<', response.text)
        assert error and fragment in error.group(1), (field, response.text[-3000:])
    response = client.post(
        "/models/new",
        data={"csrf": csrf, "dataset_id": dataset, "privacy": "epsilon", "epsilon": "-1"},
    )
    assert re.search(r'id="error-epsilon">[^<]*greater than 0', response.text)


def test_registered_password_never_reaches_a_page(client: TestClient, tmp_path: Path) -> None:
    csrf = sign_in(client)
    response = client.post(
        "/datasets/url",
        data={"csrf": csrf, "url": "postgresql://me:s3cret-pass@127.0.0.1:1/none"},
    )
    # the server is unreachable: the error is shown, without the password
    assert response.status_code == 400
    assert "s3cret-pass" not in response.text and "***" in response.text
