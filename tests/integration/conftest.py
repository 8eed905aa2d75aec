"""Real databases for the integration tests: SQLite files, and fresh PostgreSQL schemas and
MariaDB databases on the servers at 127.0.0.1, each dropped after its test.

The servers run on every development machine and in CI. Where one is unreachable the tests
that need it are skipped, except under CI (``CI`` set), where that is a failure.
``SYNTHDB_TEST_POSTGRES_URL`` and ``SYNTHDB_TEST_MARIADB_URL`` point elsewhere.
"""

from __future__ import annotations

import logging
import lzma
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from synthdb.errors import SynthdbError

CHINOOK_XZ = Path(__file__).resolve().parents[2] / "data" / "chinook.sqlite.xz"

_POSTGRES_URLS = (
    [os.environ["SYNTHDB_TEST_POSTGRES_URL"]]
    if os.environ.get("SYNTHDB_TEST_POSTGRES_URL")
    else [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    ]
)
_MARIADB_URL = os.environ.get(
    "SYNTHDB_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


@pytest.fixture(scope="session")
def chinook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Chinook database, decompressed once; copy it before writing to it."""
    path = tmp_path_factory.mktemp("chinook") / "chinook.sqlite"
    with lzma.open(CHINOOK_XZ) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    path.chmod(0o444)
    return path


@pytest.fixture
def chinook(chinook_file: Path) -> str:
    return f"sqlite:///{chinook_file}"


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable: {str(error).splitlines()[0]}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    last: Exception | None = None
    for url in _POSTGRES_URLS:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except sa.exc.OperationalError as exc:
            last = exc
            continue
        yield engine
        return
    assert last is not None
    _unavailable("PostgreSQL", last)


@pytest.fixture(scope="session")
def mariadb_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(_MARIADB_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        _unavailable("MariaDB", exc)
    yield engine


@pytest.fixture
def postgres(postgres_admin: sa.Engine) -> Iterator[str]:
    """The URL of a new, empty schema (first on the search_path), dropped afterwards."""
    schema = f"synthdb_test_{secrets.token_hex(4)}"
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = postgres_admin.url.set(query={"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def mariadb(mariadb_admin: sa.Engine) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    database = f"synthdb_test_{secrets.token_hex(4)}"
    with mariadb_admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {database}")
    try:
        yield mariadb_admin.url.set(database=database).render_as_string(hide_password=False)
    finally:
        with mariadb_admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {database}")


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A maker of new, empty databases: ``new_database("postgresql")`` returns the URL of one
    more schema (or MariaDB database, or SQLite file), each dropped after the test."""
    made = 0

    def make(kind: str) -> str:
        nonlocal made
        made += 1
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'database_{made}.db'}"
        name = f"synthdb_test_{secrets.token_hex(4)}"
        admin: sa.Engine = request.getfixturevalue(
            "postgres_admin" if kind == "postgresql" else "mariadb_admin"
        )
        create, drop = (
            (f"CREATE SCHEMA {name}", f"DROP SCHEMA {name} CASCADE")
            if kind == "postgresql"
            else (f"CREATE DATABASE {name}", f"DROP DATABASE {name}")
        )
        with admin.connect() as connection:
            connection.exec_driver_sql(create)

        def dropped() -> None:
            with admin.connect() as connection:
                connection.exec_driver_sql(drop)

        request.addfinalizer(dropped)
        if kind == "postgresql":
            url = admin.url.set(query={"options": f"-csearch_path={name}"})
        else:
            url = admin.url.set(database=name)
        return url.render_as_string(hide_password=False)

    return make


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind we write to."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    return str(request.getfixturevalue("postgres" if request.param == "postgresql" else "mariadb"))


@pytest.fixture
def check_error() -> Callable[..., str]:
    """Assert the error the CLI would print is one line, names a fix and mentions ``fragments``."""

    def check(excinfo: pytest.ExceptionInfo[SynthdbError], *fragments: str) -> str:
        error = excinfo.value
        message = str(error)
        assert isinstance(error, SynthdbError), message
        assert "\n" not in message, message
        assert error.hint, f"no fix suggested: {message}"
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        return message

    return check


@pytest.fixture(scope="module")
def cluster_and_client() -> Iterator[tuple[str, str]]:
    """A Ray cluster of two nodes of one CPU each on this machine, its address and its Ray
    Client address (``ray://``); this process is connected to it while the module's tests
    run. Skipped where Ray is not installed (``pip install 'synthdb[ray]'``), except under CI,
    where ``make test`` installs it and a skip would hide the tests."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI installs the ray extra (make test): ray is missing")
        pytest.skip("needs the ray extra: pip install 'synthdb[ray]'")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nodes = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "ray_client_server_port": port}
    )
    try:
        nodes.add_node(num_cpus=1)
        ray.init(address=nodes.address, logging_level=logging.WARNING, log_to_driver=False)
        yield nodes.address, f"ray://127.0.0.1:{port}"
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def cluster(cluster_and_client: tuple[str, str]) -> str:
    return cluster_and_client[0]
