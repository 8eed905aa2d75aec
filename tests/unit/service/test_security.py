"""Tokens, stored database URLs and masking (synthdb.service.security)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography")
from synthdb.errors import UsageError
from synthdb.service.security import Secrets, Tokens, digest, mask, passwords
from synthdb.service.state import State


@pytest.fixture
def state(tmp_path: Path) -> State:
    made = State(f"sqlite:///{tmp_path / 'state.db'}")
    made.create()
    return made


def test_a_token_is_made_once_and_stored_hashed(state: State) -> None:
    tokens = Tokens(state, None)
    token = tokens.ensure()
    assert token is not None and len(token) >= 40
    assert tokens.ensure() is None  # printed once: the next start makes none
    assert tokens.user(token) == "admin"
    assert tokens.user(token + "x") is None and tokens.user("") is None
    with state.begin() as db:
        stored = db.exec_driver_sql("SELECT hash FROM synthdb_tokens").scalars().all()
    assert stored == [digest(token)] and token not in stored[0]


def test_the_environment_token_wins(state: State) -> None:
    tokens = Tokens(state, "from-env")
    assert tokens.ensure() is None
    assert tokens.user("from-env") == "admin" and tokens.user("other") is None


def test_passwords_are_encrypted_and_come_back() -> None:
    secrets = Secrets("a long random key")
    stored, shown = secrets.store("postgresql://me:p%40ss@db.example:5432/shop")
    assert stored.startswith("fernet:") and "p%40ss" not in stored and "p@ss" not in stored
    assert shown == "postgresql://me:***@db.example:5432/shop"
    assert secrets.reveal(stored) == "postgresql://me:p%40ss@db.example:5432/shop"
    with pytest.raises(UsageError, match="cannot be decrypted"):
        Secrets("another key").reveal(stored)


def test_urls_without_a_password_and_environment_references() -> None:
    secrets = Secrets(None)
    stored, shown = secrets.store("sqlite:///shop.db")
    assert secrets.reveal(stored) == "sqlite:///shop.db" and shown == "sqlite:///shop.db"
    with pytest.raises(UsageError, match="SYNTHDB_SECRET_KEY"):
        secrets.store("postgresql://me:secret@host/db")
    stored, shown = secrets.store("env:SHOP_URL")
    assert stored == shown == "env:SHOP_URL"
    with pytest.raises(UsageError, match="SHOP_URL is not set"):
        secrets.reveal(stored)
    with pytest.raises(UsageError):
        secrets.store("env:not a name")


def test_reveal_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_URL", "postgresql://me:hidden@host/db")
    assert Secrets(None).reveal("env:SHOP_URL") == "postgresql://me:hidden@host/db"
    assert "hidden" in passwords("env:SHOP_URL")


def test_mask_hides_every_password() -> None:
    url = "postgresql://me:pw-123@host/db?password=other-456"
    hidden = passwords(url)
    assert set(hidden) >= {"pw-123"}
    assert mask(f"cannot connect to {url}", hidden).count("pw-123") == 0
