"""The one way minfree writes, removes and trusts files: every action goes through here.

minfree runs as root on hosts where other users may have write access somewhere. So:

* **Writes** (:func:`write_file`) go to a temporary ``.NAME.minfree-tmp-PID-RANDOM`` created
  with ``O_CREAT|O_EXCL|O_NOFOLLOW`` in the target's own directory (a link planted at any
  name is never followed, a planted file makes the create fail), are ``fsync``-ed, get their
  owner and an explicit mode with ``fchown``/``fchmod`` (the umask plays no part), then are
  renamed over the target and the directory is ``fsync``-ed. A target that is a symlink or
  not a regular file is refused with the reason, never replaced.
* **Directories** are opened with ``O_NOFOLLOW`` component by component below a base the
  caller trusts (:func:`open_dir`), so a symlinked ``etc/sysctl.d`` cannot send a write
  elsewhere; missing ones are created with an explicit mode only where the caller allows.
* **Trust** (:func:`check_trusted`): state that root acts on (the state directory, the
  journal, backups) must be owned by root (or the user running minfree) and writable by no
  one else, and so must every directory above it (a sticky ``/tmp`` is fine: others cannot
  move what they do not own there). Anything else is refused with the reason.
* **Stale temporaries** of a killed run (:func:`clean_stale`) are removed on the next run,
  under the change lock (:mod:`minfree.actions.lock`), so they cannot be a live writer's.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from pathlib import Path

from minfree.model.record import record

TMP_MARK = ".minfree-tmp-"
_STALE = re.compile(r"\..+\.minfree-tmp-[0-9]+(-[0-9a-f]+)?\Z")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeError(OSError):
    """A file or directory minfree refuses to use or replace; the message says why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(errno.EPERM, reason, str(path))
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


@record
class FileMeta:
    """Mode (permission bits) and owner of an existing file."""

    mode: int
    uid: int
    gid: int


def trusted_owner(uid: int) -> bool:
    """Root, or the user running minfree (a non-root user's own sandbox)."""
    return uid in (0, os.geteuid())


def _untrusted_reason(st: os.stat_result, *, sticky_ok: bool) -> str | None:
    if not trusted_owner(st.st_uid):
        return f"owned by uid {st.st_uid}, not root"
    if st.st_mode & 0o022 and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        return f"writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_trusted(path: Path, *, kind: str = "directory") -> None:
    """Raise :class:`UnsafeError` unless ``path`` and every directory above it are owned by root
    (or this user) and writable by no one else; ``path`` itself must not be a symlink."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeError(path, "is a symlink; minfree only trusts a real " + kind)
    if (kind == "directory") != stat.S_ISDIR(st.st_mode):
        raise UnsafeError(path, f"is not a {kind}")
    if (reason := _untrusted_reason(st, sticky_ok=False)) is not None:
        raise UnsafeError(path, reason + "; minfree only acts on state that no one else can change")
    parent = Path(os.path.abspath(path)).parent
    while True:
        pst = os.stat(parent)
        if (reason := _untrusted_reason(pst, sticky_ok=True)) is not None:
            raise UnsafeError(parent, f"{reason}: someone else could replace {path}")
        if parent.parent == parent:
            return
        parent = parent.parent


def open_dir(base: Path, rel: str = "", *, create_mode: int | None = None) -> int:
    """A descriptor of directory ``base/rel``, no symlink followed below ``base`` (``base`` itself
    is trusted by the caller); missing components are created with ``create_mode`` when given."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in [p for p in rel.split("/") if p]:
            if part in (".", ".."):
                raise UnsafeError(base / rel, "a path with '.' or '..' is refused")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if create_mode is None:
                    raise
                os.mkdir(part, 0o700, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.fchmod(child, create_mode)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeError(base / rel, f"{part} is a symlink or not a directory") from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def file_meta(path: Path) -> FileMeta | None:
    """Mode and owner of the regular file at ``path`` (not followed); None when absent.
    Raises :class:`UnsafeError` for a symlink or anything but a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeError(path, "is a symlink or not a regular file; minfree does not replace it")
    return FileMeta(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def write_file(base: Path, rel: str, data: bytes, mode: int, *, owner: tuple[int, int] | None = None,
               create_dirs: int | None = None, replace: bool = True) -> None:
    """Atomically make ``base/rel`` hold ``data`` with ``mode`` (and ``owner``), see module doc.

    ``base`` is trusted by the caller; no symlink below it is followed; directories missing
    below it are created with mode ``create_dirs`` if given (else the write fails). Without
    ``replace`` an existing ``rel`` (of any kind) is left alone: FileExistsError."""
    parent, _, name = rel.rpartition("/")
    dir_fd = open_dir(base, parent, create_mode=create_dirs)
    try:
        st = _lstat_at(dir_fd, name)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise UnsafeError(base / rel, "is a symlink or not a regular file; minfree does not replace it")
        tmp = f".{name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(data)
            if owner is not None:
                os.fchown(fd, *owner)
            os.fchmod(fd, mode)  # after fchown, which clears set-id bits
            os.fsync(fd)
            os.close(fd)
            fd = -1
            if replace:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:  # link(2) never replaces: a name taken meanwhile fails with EEXIST
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
                os.unlink(tmp, dir_fd=dir_fd)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_file(base: Path, rel: str) -> bool:
    """Remove ``base/rel`` (a file or a symlink, never followed); False when already absent."""
    parent, _, name = rel.rpartition("/")
    dir_fd = open_dir(base, parent)
    try:
        st = _lstat_at(dir_fd, name)
        if st is None:
            return False
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeError(base / rel, "is a directory; minfree does not remove it")
        os.unlink(name, dir_fd=dir_fd)
        os.fsync(dir_fd)
        return True
    finally:
        os.close(dir_fd)


def read_file(base: Path, rel: str, *, trusted: bool = False) -> bytes | None:
    """The bytes of regular file ``base/rel`` (no symlink followed below ``base``); None when
    absent. With ``trusted``, the file must also be owned by root and writable by no one else."""
    parent, _, name = rel.rpartition("/")
    try:
        dir_fd = open_dir(base, parent)
    except FileNotFoundError:
        return None
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeError(base / rel, "is a symlink; not read") from None
            raise
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeError(base / rel, "is not a regular file; not read")
            if trusted and (reason := _untrusted_reason(st, sticky_ok=False)) is not None:
                raise UnsafeError(base / rel, reason + "; not trusted")
            return handle.read()
    finally:
        os.close(dir_fd)


def make_out_dir(path: Path) -> bool:
    """Create output directory ``path`` with mode 0755 whatever the umask (never its parents: a
    missing parent is FileNotFoundError); True when created. An existing one is used only when
    it is empty and trusted (no one else could plant links in it meanwhile)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        check_trusted(path)
        if os.listdir(path):
            raise FileExistsError(errno.EEXIST, "directory is not empty", str(path)) from None
        return False
    os.chmod(path, 0o755, follow_symlinks=False)
    return True


def make_state_dir(path: Path) -> None:
    """Create ``path`` (its parent must exist) with mode 0700 whatever the umask, then check it is
    trusted; an existing one is only checked (never chmod-ed into trust)."""
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700, follow_symlinks=False)
    except FileExistsError:
        pass
    check_trusted(path)


def clean_stale(base: Path, rel_dirs: set[str]) -> list[Path]:
    """Remove temporaries (``.NAME.minfree-tmp-PID...``) a killed run left in these directories
    below ``base``; call it holding the change lock. Returns what was removed."""
    removed = []
    for rel in sorted(rel_dirs):
        try:
            dir_fd = open_dir(base, rel)
        except (FileNotFoundError, UnsafeError, NotADirectoryError):
            continue
        try:
            for name in os.listdir(dir_fd):
                if _STALE.match(name):
                    st = _lstat_at(dir_fd, name)
                    if st is not None and not stat.S_ISDIR(st.st_mode):
                        os.unlink(name, dir_fd=dir_fd)
                        removed.append(base / rel / name)
        finally:
            os.close(dir_fd)
    return removed
