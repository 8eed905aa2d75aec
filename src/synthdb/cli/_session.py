"""The state of one ``synthdb`` command, and how it speaks: status lines, one-line errors with
the documented exit codes, and the pipeline's progress drawn with rich."""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from synthdb.errors import SynthdbError, UsageError

if TYPE_CHECKING:
    from synthdb.cli.progress import EpochProgress, RowBar
    from synthdb.pipeline.events import Unit
    from synthdb.training.loop import EpochRecord, TrainingResult

# Messages are printed with soft_wrap: rich must not cut a one-line error into several lines.
err = Console(stderr=True, highlight=False, emoji=False)
out = Console(highlight=False, emoji=False, soft_wrap=True)


@dataclass
class Session:
    debug: bool = bool(os.environ.get("SYNTHDB_DEBUG"))
    quiet: bool = False
    #: outputs completed so far, so an interrupted ``run`` can say which of them are whole
    written: list[str] = field(default_factory=list)


session = Session()


def say(text: str) -> None:
    """A status line on stderr, unless --quiet (stdout stays for results)."""
    if not session.quiet:
        err.print(text, markup=False, soft_wrap=True)


def fail(text: str) -> None:
    err.print(text, markup=False, soft_wrap=True)


#: the library's parameters whose flag is not their name with dashes
FLAGS = {
    "json_path": "--json",
    "report_path": "--report",
    "model_path": "--model",
    # synthdb impute's rows are its DATA argument, not a flag
    "data": "DATA",
}
_PARAMETER = re.compile(r"`([^`\n]+)`")


def flag_names(text: str, flags: Mapping[str, str] = FLAGS) -> str:
    """The library names parameters in backticks (`sample_seed`); the command line says
    their flags (--sample-seed)."""
    return _PARAMETER.sub(
        lambda match: flags.get(match[1]) or "--" + match[1].replace("_", "-"), text
    )


@contextmanager
def errors(command: str, quiet: bool = False) -> Iterator[None]:
    """Turn every failure into one line on stderr and the documented exit code."""
    session.quiet = quiet
    session.written.clear()
    try:
        yield
    except SynthdbError as exc:
        show_traceback()
        message = str(exc)
        if isinstance(exc, UsageError):
            message = flag_names(message)
            if exc.hint is None:
                message += f" (see 'synthdb {command} --help')"
        fail(f"error: {message}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        show_traceback()
        kept = ", ".join(session.written)
        done = (
            f"{kept} was complete and is kept; nothing else was written"
            if kept
            else "nothing was written"
        )
        fail(f"interrupted (Ctrl-C): {done}")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, BrokenPipeError):  # typer quiets a closed pipe (| head)
        raise
    except MemoryError:
        show_traceback()
        fail(
            "error: out of memory (ask for fewer --rows, a smaller --batch-size, or use a "
            "machine with more memory)"
        )
        raise typer.Exit(1) from None
    except Exception as exc:  # a bug: say so, but keep it to one line unless --debug
        show_traceback()
        lines = str(exc).strip().splitlines()
        detail = f": {lines[0]}" if lines else ""
        fail(
            f"error: unexpected {type(exc).__name__}{detail} "
            "(a bug in synthdb: rerun with --debug and report the traceback)"
        )
        raise typer.Exit(1) from None


def show_traceback() -> None:
    if session.debug:
        traceback.print_exc()


class ConsoleListener:
    """The pipeline's events on the terminal: status lines, a bar per model's training with
    one line per epoch, a bar of generated rows; nothing under --quiet. Outputs completed
    are remembered for the message of an interrupted command."""

    def __init__(self, console: Console = err) -> None:
        self.console = console
        self.training: EpochProgress | None = None
        self.rows: RowBar | None = None

    # TrainingListener
    def on_start(self, max_epochs: int, steps_per_epoch: int) -> None:
        if self.training is not None:
            self.training.on_start(max_epochs, steps_per_epoch)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self.training is not None:
            self.training.on_step(epoch, step, loss)

    def on_epoch(self, record: EpochRecord) -> None:
        if self.training is not None:
            self.training.on_epoch(record)

    def on_stop(self, result: TrainingResult) -> None:
        if self.training is not None:
            self.training.on_stop(result)

    # the pipeline's own events
    def on_training(self, label: str) -> None:
        self._close_training()
        if not session.quiet:
            from synthdb.cli.progress import EpochProgress

            self.training = EpochProgress(self.console, label=label)

    def on_message(self, text: str) -> None:
        say(text)

    def on_rows(self, done: int, total: int, unit: Unit) -> None:
        if done == 0 and not session.quiet:
            from synthdb.cli.progress import RowBar

            self._close_generation()
            label = "reading" if unit == "rows read" else "generating"
            self.rows = RowBar(self.console, label, total)
        if self.rows is not None:
            self.rows.update(done, total)
        if done >= total:
            self._close_generation()

    def on_output(self, location: str) -> None:
        session.written.append(location)

    def close(self) -> None:
        """Take every bar off the screen; safe to call twice."""
        self._close_training()
        self._close_generation()

    def _close_training(self) -> None:
        if self.training is not None:
            self.training.close()
            self.training = None

    def _close_generation(self) -> None:
        if self.rows is not None:
            self.rows.close()
            self.rows = None


@contextmanager
def console_listener() -> Iterator[ConsoleListener]:
    """A :class:`ConsoleListener` whose bars are gone when the block ends, however it ends."""
    listener = ConsoleListener()
    try:
        yield listener
    finally:
        listener.close()
