"""Tokens, stored database URLs and masking.

- **The API token** is ``SYNTHDB_TOKEN`` if set; otherwise one is made at first start, printed
  once and stored as its SHA-256 (tokens are 256 random bits, so a slow password hash would
  add nothing). Tokens are compared by their hashes with :func:`hmac.compare_digest`.
- **Database URLs** are stored without a password in clear: the password is encrypted with
  Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from ``SYNTHDB_SECRET_KEY``, or the
  URL is an environment reference ``env:VAR`` read only when a job connects.
- **Masking**: every text that leaves the service (pages, API answers, job errors, logs)
  passes through :func:`mask` with the passwords it may contain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

import sqlalchemy as sa

from synthdb.errors import UsageError
from synthdb.service.state import State

FERNET = "fernet:"
ENV = "env:"
PLAIN = "plain:"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """Checks bearer tokens against ``SYNTHDB_TOKEN`` or the stored hashes."""

    def __init__(self, state: State, env_token: str | None) -> None:
        self.state = state
        self.env_digest = digest(env_token) if env_token else None

    def ensure(self) -> str | None:
        """At start-up: a new token when none exists yet (returned, to be printed once)."""
        if self.env_digest is not None or self.state.token_count() > 0:
            return None
        token = secrets.token_urlsafe(32)
        self.state.add_token(digest(token))
        return token

    def user(self, token: str | None) -> str | None:
        """Who the token belongs to; None when it is missing or wrong."""
        if not token:
            return None
        given = digest(token)
        if self.env_digest is not None:
            return "admin" if hmac.compare_digest(given, self.env_digest) else None
        return self.state.token_user(given)


class Secrets:
    """Encrypts the passwords of registered database URLs (``SYNTHDB_SECRET_KEY``)."""

    def __init__(self, key: str | None) -> None:
        self.key = key

    def _fernet(self) -> object:
        from cryptography.fernet import Fernet

        if not self.key:
            raise UsageError(
                "this URL holds a password, and SYNTHDB_SECRET_KEY is not set to encrypt it",
                hint="set SYNTHDB_SECRET_KEY for the service, or register the URL as env:VAR "
                "with the URL in the service's environment, or give the password in "
                "SYNTHDB_DB_PASSWORD",
            )
        # Any string works as the key: SHA-256 turns it into Fernet's 32 bytes. A long random
        # value is expected (`python -c "import secrets; print(secrets.token_urlsafe(32))"`).
        raw = hashlib.sha256(self.key.encode("utf-8")).digest()
        return Fernet(base64.urlsafe_b64encode(raw))

    def store(self, url: str) -> tuple[str, str]:
        """``(stored form, display form)`` of a URL given by the user."""
        if url.startswith(ENV):
            variable = url[len(ENV) :]
            if not variable.isidentifier():
                raise UsageError(f"env:{variable} is not an environment variable name")
            return url, url
        parsed = parse(url)
        shown = display(parsed)
        if parsed.password is None:
            return PLAIN + url, shown
        token = self._fernet().encrypt(url.encode("utf-8"))  # type: ignore[attr-defined]
        return FERNET + token.decode("ascii"), shown

    def reveal(self, stored: str) -> str:
        """The URL to connect with (in a worker process, never sent to a browser)."""
        if stored.startswith(PLAIN):
            return stored[len(PLAIN) :]
        if stored.startswith(ENV):
            variable = stored[len(ENV) :]
            value = os.environ.get(variable)
            if not value:
                raise UsageError(
                    f"environment variable {variable} is not set in the service",
                    hint=f"start synthdb serve with {variable}=URL in its environment",
                )
            return value
        if stored.startswith(FERNET):
            from cryptography.fernet import InvalidToken

            try:
                plain = self._fernet().decrypt(stored[len(FERNET) :].encode("ascii"))  # type: ignore[attr-defined]
            except InvalidToken:
                raise UsageError(
                    "the stored database password cannot be decrypted with this SYNTHDB_SECRET_KEY",
                    hint="start the service with the key it had when the URL was registered",
                ) from None
            return bytes(plain).decode("utf-8")
        raise UsageError("a stored database URL is in an unknown form")


def parse(url: str) -> sa.engine.URL:
    try:
        return sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        scheme = url.split("://", 1)[0] if "://" in url else "the"
        raise UsageError(
            f"the {scheme[:20]}:// database URL is malformed",
            hint="write it as dialect://user:password@host:port/database",
        ) from None


def display(url: sa.engine.URL | str) -> str:
    """The URL fit for a page: its password (and secret query values) as ***."""
    from synthdb.io._sql import display as sql_display

    if isinstance(url, str):
        if url.startswith(ENV):
            return url
        url = parse(url)
    return sql_display(url)


def passwords(url: str) -> list[str]:
    """Every secret this URL carries, to mask in messages."""
    if url.startswith(ENV):
        url = os.environ.get(url[len(ENV) :], "")
    try:
        from synthdb.io._sql import secrets_of

        return secrets_of(sa.engine.make_url(url)) if url else []
    except (sa.exc.ArgumentError, ValueError):
        return []


def mask(text: str, hidden: list[str]) -> str:
    for secret in sorted(set(hidden), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text
