"""Where the history file may live: root trusts a file only when no other user can replace
it or write it (OpenSSH's ``StrictModes`` rule, with the sticky-directory exception).

The database path is resolved once (``realpath``); from then on only the resolved path is
used, so a symbolic link another user planted on the way can no longer be swapped. Every
directory from ``/`` to the file's own must be owned by root or by us; an ancestor writable
by others must be sticky (``/tmp``: others cannot rename what we own); the file's own
directory must be writable by its owner alone (SQLite creates ``-wal`` and ``-shm`` beside
the file, and nobody else may plant them). The file, and those companions when present, must
be a regular file (never a link), owned by us (by root or us to read), writable by its owner
alone. A new file is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` and mode 0600, in a
directory made with mode 0700 when it does not exist.
"""
from __future__ import annotations

import os
import stat

COMPANIONS = ("-wal", "-shm", "-journal")


class UnsafePath(Exception):
    """The history file or one of its directories could be changed by another user."""


def resolve(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _trusted_owner(st: os.stat_result, writing: bool) -> bool:
    return st.st_uid == os.geteuid() or (not writing and st.st_uid == 0)


def check_directories(directory: str) -> None:
    """Raise :class:`UnsafePath` unless ``directory`` and every ancestor are safe (see above)."""
    current = directory
    own = True
    while True:
        st = os.lstat(current)
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"{current} is not a directory")
        if st.st_uid not in (0, os.geteuid()):
            raise UnsafePath(f"{current} is owned by uid {st.st_uid}, not by root or us")
        writable_by_others = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable_by_others and (own or not st.st_mode & stat.S_ISVTX):
            where = "the history file's directory" if own else "a directory on the way"
            raise UnsafePath(f"{current} ({where}) is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")
        parent = os.path.dirname(current)
        if parent == current:
            return
        current, own = parent, False


def check_file(path: str, writing: bool) -> bool:
    """Raise :class:`UnsafePath` when ``path`` exists and is not a file we can trust; return
    whether it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{path} is not a regular file")
    if not _trusted_owner(st, writing):
        raise UnsafePath(f"{path} is owned by uid {st.st_uid}" + ("" if writing else ", not by root or us"))
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePath(f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")
    return True


def prepare(path: str, *, create: bool) -> str:
    """The resolved path of a history file that is safe to open; with ``create``, its
    directory (mode 0700) and the empty file (mode 0600) are made when missing. Raises
    :class:`UnsafePath`, or ``FileNotFoundError`` when reading a file that does not exist."""
    resolved = resolve(path)
    directory = os.path.dirname(resolved)
    if create and not os.path.lexists(directory):
        os.makedirs(directory, mode=0o700)
    check_directories(directory)
    exists = check_file(resolved, writing=create)
    for suffix in COMPANIONS:
        check_file(resolved + suffix, writing=create)
    if not exists:
        if not create:
            raise FileNotFoundError(2, "no such file", resolved)
        fd = os.open(resolved, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)
    return resolved
