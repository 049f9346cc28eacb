"""One change at a time: ``tune --apply`` and ``undo`` hold an exclusive lock on ``STATE_DIR/lock``.

``flock(LOCK_EX|LOCK_NB)`` on a file in the (trusted) state directory: the kernel drops the
lock when the holder exits or is killed, so a crash never leaves it held. A second change
fails at once with the holder's pid instead of interleaving with the first (two applies each
reporting success while only one value stayed; the rollback of one undoing the other).
"""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from minfree.actions.safefs import UnsafeError, trusted_owner

LOCK_NAME = "lock"


class LockedError(RuntimeError):
    """Another minfree change holds the lock."""


class ChangeLock:
    """``with ChangeLock(state_dir):`` runs the body as the only change on this host."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self.fd = -1

    def __enter__(self) -> ChangeLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not trusted_owner(st.st_uid) or st.st_mode & 0o022:
                raise UnsafeError(self.path, "is not a regular file owned by root and writable only by it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise LockedError(f"another minfree change is running (pid {holder}, lock {self.path}); "
                                  "nothing was changed: try again when it has finished") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)  # closing the descriptor releases the flock
        self.fd = -1
