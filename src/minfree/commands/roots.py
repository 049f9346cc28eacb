"""``--root DIR``: the machine a command reads (live ``/``, a snapshot, a sosreport), opened once."""
from __future__ import annotations

import os

from minfree.errors import UsageError
from minfree.sources.root import TAR_SUFFIXES, SystemRoot


def open_root(path: str) -> SystemRoot:
    """The root at ``path``; a usage error (exit 2) when it does not exist or cannot be opened.

    >>> open_root("/").is_live
    True
    >>> open_root("/nonexistent-minfree-root")
    Traceback (most recent call last):
    minfree.errors.UsageError: --root /nonexistent-minfree-root: no such directory or archive
    >>> open_root("/dev/null")
    Traceback (most recent call last):
    minfree.errors.UsageError: --root /dev/null: neither a directory nor a tar archive (.tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2)
    """
    if path != "/" and not os.path.exists(path):
        raise UsageError(f"--root {path}: no such directory or archive")
    if not os.path.isdir(path) and not (os.path.isfile(path) and path.endswith(TAR_SUFFIXES)):
        raise UsageError(f"--root {path}: neither a directory nor a tar archive ({', '.join(TAR_SUFFIXES)})")
    try:
        return SystemRoot(path)
    except OSError as error:
        raise UsageError(f"--root {path}: {error.strerror or error}") from None
