"""Command line: argparse and dispatch only. Each verb lives in ``minfree.commands.<verb>``,
which adds its own subparser (``add_parser``) and runs it (``run``); a command's heavy imports
happen inside its ``run``, so ``minfree doctor`` starts fast."""
from __future__ import annotations

import argparse
import functools
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from minfree.errors import EXIT_USAGE, UsageError

EXIT_OK = 0
#: Every verb, in --help order; each is the module minfree.commands.<verb>.
COMMANDS = ("doctor", "scan", "snapshot", "tune", "undo", "relieve", "trace", "exporter", "watch", "fleet",
            "report")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its help as wide as the terminal without importing ``shutil``:
    argparse makes a formatter for every argument added, and without a width the formatter
    imports ``shutil`` (with ``bz2``, ``lzma``, ``fnmatch``: ~3 ms of every start) for
    ``shutil.get_terminal_size``, whose answer :func:`_help_width` gives."""

    def __init__(self, *args, formatter_class=argparse.HelpFormatter, **kwargs) -> None:
        super().__init__(*args, formatter_class=functools.partial(formatter_class, width=_help_width()), **kwargs)


def _help_width() -> int:
    """``shutil.get_terminal_size().columns - 2``, as argparse computes it: $COLUMNS, else the
    terminal on standard output, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb, or of ``command`` alone when it names one (faster start)."""
    parser = _Parser(prog="minfree", description="Find, explain and prevent Linux page allocation failures.")
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for verb in (command,) if command in COMMANDS else COMMANDS:
        importlib.import_module(f"minfree.commands.{verb}").add_parser(subparsers)
    return parser


def _version() -> str:
    from minfree import __version__

    return f"minfree {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    # Modules, classes and functions made while the command is imported live as long as the
    # process: the cyclic collector would only walk them again and again (a few ms of a cold
    # `doctor`). Frozen once imported (by a process started as minfree: a caller's own objects
    # are not ours to freeze), later collections skip them.
    gc.disable()
    try:
        args = _parser(command).parse_args(words)
    finally:
        if argv is None:
            gc.freeze()
        gc.enable()
    try:
        status = args.run(args)
        sys.stdout.flush()   # a closed pipe shows here, not at exit as "Exception ignored"
        if argv is None and getattr(args, "exit_at_once", False):
            _exit_at_once(status)
        return status
    except UsageError as error:
        print(f"minfree: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (minfree scan | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _exit_at_once(status: int) -> None:
    """End the process now, without the interpreter's teardown: freeing every module and
    object a scan made takes 8-15 ms of a 0.5 s scan of 1 GiB, after its output is complete.
    Only for commands that declare ``exit_at_once`` (they write nothing but their output, which
    is flushed here, and leave no non-daemon thread or file that the teardown would finish)."""
    sys.stderr.flush()
    os._exit(status)
