"""The rich console every human output is printed on (``NO_COLOR`` respected)."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def console(stream: TextIO | None = None) -> Console:
    from rich.console import Console

    return Console(file=stream or sys.stdout, no_color="NO_COLOR" in os.environ,
                   highlight=False, soft_wrap=True)
