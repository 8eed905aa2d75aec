"""Errors a user can act on.

Every failure the user can fix is raised as a :class:`SynthdbError` whose message names the
problem and the fix in one line; the CLI prints it without a traceback. Anything else escaping
the library is a bug and is shown with its traceback under ``--debug``.
"""

from __future__ import annotations


class SynthdbError(Exception):
    """Base class: a one-line message that names the problem and how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class InputError(SynthdbError):
    """The data given to us cannot be used (missing, empty, malformed, wrong encoding)."""


class UsageError(SynthdbError):
    """A parameter is out of range or contradicts another one; exit code 2 like argparse."""

    exit_code = 2


class ModelFileError(SynthdbError):
    """A model file is corrupted, truncated, or written by an incompatible version."""


class OutputError(SynthdbError):
    """The output cannot be written (missing folder, exists without --overwrite, ...)."""


class ClusterError(SynthdbError):
    """The Ray cluster cannot be reached, or lost a worker more often than it retries."""
