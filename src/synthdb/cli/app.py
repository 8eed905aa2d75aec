"""The ``synthdb`` command: train, generate, impute, evaluate, report, run, privacy, inspect, study.

A thin face over the library (:mod:`synthdb.pipeline`): each command group lives in its own
module (``cli/train.py``, ``cli/generate.py``, ``cli/impute.py``, ``cli/evaluate.py``,
``cli/run.py``, ``cli/privacy.py``, ``cli/inspect.py``, ``cli/study.py``) and parses flags,
shows progress and prints one-line errors through ``cli/_session.py``. This module holds the
Typer app, the options every command takes (--debug, --version) and the entry point.
Exit codes: 0 success, 1 bad data or failure, 2 bad usage, 130 interrupted (Ctrl-C).

PyTorch is imported only by the commands that need a model, so ``--help`` and the checks of
paths and flags answer at once.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from synthdb import __version__
from synthdb.cli._session import fail, out, session
from synthdb.cli.evaluate import evaluate, report
from synthdb.cli.generate import generate
from synthdb.cli.impute import impute
from synthdb.cli.inspect import inspect
from synthdb.cli.privacy import privacy
from synthdb.cli.run import run
from synthdb.cli.serve import serve
from synthdb.cli.study import study_app
from synthdb.cli.train import train

app = typer.Typer(
    name="synthdb",
    help="Synthetic twins of tables: train a model on real data, generate look-alike rows, "
    "and measure how close they are. Exit codes: 0 success, 1 bad data or failure, "
    "2 bad usage, 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(study_app, name="study")
for name, command in (
    ("train", train),
    ("generate", generate),
    ("impute", impute),
    ("evaluate", evaluate),
    ("report", report),
    ("run", run),
    ("privacy", privacy),
    ("inspect", inspect),
    ("serve", serve),
):
    app.command(name)(command)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"synthdb {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="show the traceback behind an error; may also follow the command, or set "
            "SYNTHDB_DEBUG=1. Default: off.",
            show_default=False,
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="print the version and exit",
            callback=_print_version,
            is_eager=True,  # answered before the missing command is noticed
            show_default=False,
        ),
    ] = False,
) -> None:
    if debug:
        session.debug = True


def _usage_message(exc: typer.TyperException) -> str:
    """Click's usage error, on one line, pointing at the help that lists the valid values."""
    message = exc.format_message().replace("Value error, ", "").strip()
    context = getattr(exc, "ctx", None)
    command = getattr(context, "command_path", None) or "synthdb"
    return f"{message} (see '{command} --help')"


def main(args: list[str] | None = None) -> None:
    """Console entry point."""
    argv = list(sys.argv[1:] if args is None else args)
    options = argv[: argv.index("--")] if "--" in argv else argv
    if "--debug" in options:  # accepted after the command too: "synthdb train ... --debug"
        argv.remove("--debug")
        session.debug = True
    try:
        code = app(args=argv, prog_name="synthdb", standalone_mode=False)
    except typer.TyperException as exc:  # flags that do not parse: no command ran
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
        else:
            fail(f"error: {_usage_message(exc)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # outside any command body: nothing had started writing
        fail("interrupted (Ctrl-C): nothing was written")
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    status = code if isinstance(code, int) else 0
    if args is None:  # the console script: a process of its own
        _leave(status)
    sys.exit(status)


def _leave(status: int) -> None:
    """End the process without finalising the interpreter.

    With PyTorch loaded, tearing down thousands of modules takes about half a second after the
    work is done (5% of generating a million rows). By now every output has been closed and
    renamed into place and the worker threads have ended; only the consoles need flushing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
