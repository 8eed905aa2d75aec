"""Database URLs: default drivers, passwords from the environment, and passwords never shown."""

from __future__ import annotations

import pytest

from synthdb.errors import InputError
from synthdb.io._sql import display, mask, parse_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mariadb://u@h/db", "mariadb+pymysql"),
        ("mysql+pymysql://u@h/db", "mysql+pymysql"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_plain_schemes_use_the_drivers_we_install(given: str, driver: str) -> None:
    assert parse_url(given, InputError).drivername == driver


def test_password_from_the_environment_is_used_and_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNTHDB_DB_PASSWORD", "from-env-1")

    url = parse_url("postgresql://me@db.example/shop", InputError)

    assert url.password == "from-env-1"
    assert "from-env-1" not in display(url)
    assert mask("FATAL: from-env-1 rejected", url) == "FATAL: *** rejected"


def test_mysql_pwd_is_used_for_mysql_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDB_DB_PASSWORD", raising=False)
    monkeypatch.setenv("MYSQL_PWD", "my-pwd-2")

    assert parse_url("mysql://root@h/db", InputError).password == "my-pwd-2"
    assert parse_url("postgresql://root@h/db", InputError).password is None


def test_url_password_wins_and_query_passwords_are_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHDB_DB_PASSWORD", "from-env-1")

    url = parse_url("postgresql://me:in-url-3@h/db?password=in-query-4&sslmode=require", InputError)

    assert url.password == "in-url-3"
    shown = display(url)
    assert "in-url-3" not in shown and "in-query-4" not in shown
    assert "sslmode=require" in shown
    assert mask("in-url-3 in-query-4 from-env-1", url) == "*** *** ***"


def test_malformed_url_shows_only_the_scheme() -> None:
    with pytest.raises(InputError) as excinfo:
        parse_url("postgresql://me:pw-5@h:notaport/db", InputError)

    assert "pw-5" not in str(excinfo.value)
