"""The rich console every human output is printed on (``NO_COLOR`` respected)."""
from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            """rich exits with status 1 here; raise instead, so the command ends as every
            minfree command does when its reader goes away (cli.main: exit 0)."""
            self.quiet = True
            raise BrokenPipeError

    return _Console


def console(stream: TextIO | None = None) -> Console:
    return _console_class()(file=stream or sys.stdout, no_color="NO_COLOR" in os.environ,
                            highlight=False, soft_wrap=True)
