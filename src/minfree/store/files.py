"""Where the history file may live, and how it is opened safely as root.

Who is trusted is the rule :func:`minfree.actions.safefs.check_trusted` applies to all
state root acts on (owned by root or us, writable by no one else, every directory above
too; a sticky ``/tmp`` is fine on the way but not as the file's own directory). DESIGN's
layers forbid ``store`` to import ``actions``, so the command passes that check in as
``trust`` and the rule lives once.

The path is resolved once (``realpath``); from then on only the resolved path is used, so a
symbolic link another user planted on the way can no longer be swapped. The file's own
directory, the file and SQLite's companions (``-wal``, ``-shm``, ``-journal``: nobody else
may plant them) must pass ``trust``; a new file is created with ``O_CREAT|O_EXCL|O_NOFOLLOW``
and mode 0600, in a directory made with mode 0700 when it does not exist.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

COMPANIONS = ("-wal", "-shm", "-journal")

#: ``trust(path, kind=...)`` raises ``OSError`` saying why ``path`` (a "directory" or a
#: "file") cannot be trusted; :func:`minfree.actions.safefs.check_trusted`.
Trust = Callable[..., None]


class UnsafePath(Exception):
    """The history file or one of its directories could be changed by another user."""


def _check(trust: Trust, path: str, kind: str) -> None:
    try:
        trust(Path(path), kind=kind)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnsafePath(str(error)) from None


def prepare(path: str, *, create: bool, trust: Trust) -> str:
    """The resolved path of a history file that is safe to open; with ``create``, its
    directory (mode 0700) and the empty file (mode 0600) are made when missing. Raises
    :class:`UnsafePath`, or ``FileNotFoundError`` when reading a file that does not exist."""
    resolved = os.path.realpath(os.path.abspath(path))
    directory = os.path.dirname(resolved)
    if create and not os.path.lexists(directory):
        os.makedirs(directory, mode=0o700)
    _check(trust, directory, "directory")
    exists = os.path.lexists(resolved)
    for candidate in (resolved, *(resolved + suffix for suffix in COMPANIONS)):
        if os.path.lexists(candidate):
            _check(trust, candidate, "file")
    if not exists:
        if not create:
            raise FileNotFoundError(2, "no such file", resolved)
        fd = os.open(resolved, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)
    return resolved
