"""Reaching a Ray cluster: a client server that fails to start on a busy head is tried again;
an address where nothing listens is not.

Ray's own failure cannot be provoked on demand (it needs a head too slow to start a process),
so a stand-in with Ray's three calls plays the head; the behaviour under test is ours.
"""

from __future__ import annotations

from typing import Any

import pytest

from synthdb.errors import SynthdbError
from synthdb.pipeline import cluster


class Head:
    """``ray``'s ``is_initialized``, ``init`` and ``shutdown``, failing the first ``fails``
    connections with ``error``."""

    def __init__(self, fails: int, error: Exception) -> None:
        self.fails, self.error, self.calls, self.connected = fails, error, 0, False

    def is_initialized(self) -> bool:
        return self.connected

    def init(self, address: str, **options: Any) -> None:
        self.calls += 1
        if self.calls <= self.fails:
            raise self.error
        self.connected = True

    def shutdown(self) -> None:
        self.connected = False


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CLIENT_RETRY_SECONDS", 0.0)


def test_a_client_server_that_failed_to_start_is_tried_again() -> None:
    head = Head(2, ConnectionAbortedError("Initialization failure from server: ..."))
    assert cluster.connect(head, "ray://127.0.0.1:10001")  # type: ignore[arg-type]
    assert head.calls == 3 and head.connected


def test_it_gives_up_with_one_line_after_the_last_try() -> None:
    head = Head(5, ConnectionAbortedError("Initialization failure from server: boom. More"))
    with pytest.raises(SynthdbError, match="cannot connect to the Ray cluster") as caught:
        cluster.connect(head, "ray://127.0.0.1:10001")  # type: ignore[arg-type]
    assert head.calls == cluster.CLIENT_ATTEMPTS and "\n" not in str(caught.value)


@pytest.mark.parametrize("address", ["ray://127.0.0.1:10001", "auto"])
def test_nothing_listening_is_not_tried_again(address: str) -> None:
    head = Head(5, ConnectionError("no cluster"))
    with pytest.raises(SynthdbError):
        cluster.connect(head, address)  # type: ignore[arg-type]
    assert head.calls == 1
