from __future__ import annotations

from collections.abc import Callable

import pytest

from synthdb.errors import SynthdbError

CheckError = Callable[..., str]


@pytest.fixture
def check_error() -> CheckError:
    """Assert the error the CLI would print is one line, names a fix and mentions ``fragments``."""

    def check(excinfo: pytest.ExceptionInfo[SynthdbError], *fragments: str) -> str:
        error = excinfo.value
        message = str(error)
        assert "\n" not in message, message
        assert error.hint, f"no fix suggested: {message}"
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        return message

    return check
