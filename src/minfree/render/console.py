"""The rich console every human output is printed on (``NO_COLOR`` respected)."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def console(stream: TextIO | None = None) -> Console:
    from rich.console import Console

    printer = Console(file=stream or sys.stdout, no_color="NO_COLOR" in os.environ,
                      highlight=False, soft_wrap=True)
    printer.on_broken_pipe = _reader_gone  # type: ignore[method-assign]
    return printer


def _reader_gone() -> None:
    """rich's own handler exits with status 1 when the reader closes the pipe (``| head``);
    hand the error to ``minfree.cli``, which exits 0 as for every other output."""
    raise BrokenPipeError("output pipe closed")
