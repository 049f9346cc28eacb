"""The one reader/writer of ``/proc/sys/vm``: every live value minfree changes goes through here.

``SysctlWriter(root)`` works under a root: ``/`` on the live machine, a temporary tree in tests.
A name is a plain file name of ``proc/sys/vm`` (``min_free_kbytes``, ``page-cluster``): no ``/``,
no ``..``, nothing a journal entry or an argument could use to reach another file. Writes open
the existing file (never create one, never follow a link) and go out in one ``write``, as
``echo N > /proc/sys/vm/<name>`` does.

Some knobs are write-only (``compact_memory`` and ``drop_caches`` are mode 0200, even for root;
reading ``stat_refresh`` forces a vmstat refresh on every CPU): the writer writes them and never
reads them back (``specs.NEVER_READ_VM``, reference kernel-memory.md §10).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from minfree.proc.sysctl import parse_sysctl_int
from minfree.sources.specs import NEVER_READ_VM, VM_DIR

_NAME = re.compile(r"[a-z0-9_][a-z0-9_-]*\Z")


class SysctlNameError(ValueError):
    """A name that is not a plain file of /proc/sys/vm, or a read of a write-only knob."""


def sysctl_name(key: str) -> str:
    """``vm.min_free_kbytes`` -> ``min_free_kbytes`` (the file under /proc/sys/vm), checked.

    >>> sysctl_name("vm.watermark_scale_factor"), sysctl_name("page-cluster")
    ('watermark_scale_factor', 'page-cluster')
    >>> sysctl_name("vm.../../etc/passwd")
    Traceback (most recent call last):
    ...
    minfree.actions.sysctl.SysctlNameError: '../../etc/passwd' is not a file of /proc/sys/vm
    """
    name = key[3:] if key.startswith("vm.") else key
    if not _NAME.match(name):
        raise SysctlNameError(f"{name!r} is not a file of /proc/sys/vm")
    return name


class SysctlWriter:
    """Read and write ``proc/sys/vm/<name>`` under ``root`` (``/`` live; a temp tree in tests)."""

    def __init__(self, root: Path | str = "/") -> None:
        self.root = Path(root)
        self.vm_dir = self.root / VM_DIR

    def path(self, name: str) -> Path:
        return self.vm_dir / sysctl_name(name)

    def read(self, name: str) -> int:
        """The value as the kernel shows it; OSError when unreadable, ValueError when not one integer."""
        path = self.path(name)
        if path.name in NEVER_READ_VM:
            raise SysctlNameError(f"/proc/sys/vm/{path.name} is never read (write-only)")
        with open(path) as handle:
            text = handle.read()
        value = parse_sysctl_int(text)
        if value is None:
            raise ValueError(f"/proc/sys/vm/{path.name} reads {text.strip()!r}, not one integer")
        return value

    def write(self, name: str, value: int) -> None:
        """Write ``value`` (no read-back: the caller verifies what can be read)."""
        path = self.path(name)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "w") as handle:  # the kernel's verdict (EINVAL...) comes at close
            handle.write(f"{int(value)}\n")
