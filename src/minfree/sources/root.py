"""Read kernel files under a system root: the live ``/``, a snapshot or a sosreport.

One code path serves every source. Paths are given relative to the root
(``"proc/meminfo"``), so the same reader works on:

* the live machine (``SystemRoot("/")``);
* a directory written by ``minfree snapshot`` or an extracted sosreport
  (sosreports keep ``proc/`` and ``sys/`` at the top, next to ``sos_commands/``);
* a tar archive of either (``.tar``, ``.tar.gz``, ``.tar.xz``...), whose single
  top-level directory, if any, is skipped.

Symlink convention: a snapshot cannot rely on symlinks (tarballs and copies
lose or dangle them), so a symlink at ``P`` is captured as a small regular file
``P.readlink`` holding the link target (what ``os.readlink`` returned) and a
newline. ``readlink_name`` and ``exists`` understand both real symlinks (live
host, sosreport) and this convention. ``listdir`` shows ``P.readlink`` as ``P``.

A file that cannot be read is not an error: ``read_text`` returns None and the
gap is recorded in ``root.gaps`` as ``(path, reason)``, unless the caller says
the file is optional (it exists only on some kernels).

A captured root is another user's data: only regular files are read (a FIFO or device in
it is opened without blocking and refused, never read), a link may not lead out of the
captured tree, and every read stops at what that file can hold
(:func:`minfree.sources.specs.max_bytes`): a larger file is a gap, not all of memory.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

from minfree.sources.specs import max_bytes

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    import tarfile
    from typing import Protocol

    class Source(Protocol):
        """What a root reads through: relative, clean paths; failures raise ``OSError``."""

        def read_bytes(self, rel: str, limit: int) -> bytes: ...
        def listdir(self, rel: str) -> list[str]: ...
        def readlink(self, rel: str) -> str | None: ...
        def lexists(self, rel: str) -> bool: ...
        def close(self) -> None: ...


LINK_SUFFIX = ".readlink"
SOSREPORT_MARKERS = ("sos_commands", "sos_reports")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
#: Heuristic bound on an archive's members (each header stays in memory, ~1 KiB): a snapshot
#: has a few hundred files, a sosreport some tens of thousands.
MAX_MEMBERS = 200_000


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _clean(rel: str) -> str | None:
    """Normalise a relative path; None when it would leave the root."""
    if ".." in rel.split("/"):
        return None
    norm = posixpath.normpath("/" + rel).lstrip("/")
    return norm or None


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> OSError:
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return OSError(errno.EINVAL, f"not a regular file ({kind})")


def too_large(limit: int) -> OSError:
    return OSError(errno.EFBIG, f"larger than this file can be ({limit} bytes)")


#: The first read of a file, and every read after a short one; doubled after each full read
#: up to :data:`_READ_MOST`. A sysctl read allocates a zeroed kernel buffer of the size asked
#: (fs/proc/proc_sysctl.c proc_sys_call_handler: kvzalloc(count + 1), 5.8-6.18): one page here
#: is a slab object, where 1 MiB was an order-9 page allocation tried with __GFP_NORETRY (a
#: silent failure on a fragmented host, counted by the failure counter) and ~50 us of zeroing.
_READ_FIRST = 4096
_READ_MOST = 1 << 20


def _read_bounded(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes from ``fd`` to its end; EFBIG when it holds more."""
    parts: list[bytes] = []
    size = 0
    ask = _READ_FIRST
    while size <= limit:
        want = min(ask, limit + 1 - size)
        part = os.read(fd, want)
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
        if len(part) == want:
            ask = min(ask * 2, _READ_MOST)
    raise too_large(limit)


def _first_line(exc: BaseException) -> str:
    """One line for the user: tarfile's "r:*" error lists every method it tried, with reprs."""
    text = str(exc)
    if text.startswith("file could not be opened successfully"):
        return "no tar, gzip, bzip2 or xz data"
    return text.splitlines()[0] if text else type(exc).__name__


def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


class _DirSource:
    """Files of a directory tree (the live root or an extracted capture)."""

    __slots__ = ("base", "_inside")

    def __init__(self, base: str, live: bool) -> None:
        self.base = base
        # a capture's links must stay in it (sosreports keep relative links in sys/)
        self._inside = None if live else os.path.realpath(base)

    def _p(self, rel: str) -> str:
        return os.path.join(self.base, rel)

    def read_bytes(self, rel: str, limit: int) -> bytes:
        path = self._p(rel)
        if self._inside is not None and os.path.commonpath(
                (self._inside, os.path.realpath(path))) != self._inside:
            raise OSError(errno.EXDEV, "a link that leads out of the capture")
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", rel)
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(info.st_mode)
            if info.st_size > limit:
                raise too_large(limit)
            return _read_bounded(fd, limit)
        finally:
            os.close(fd)

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(self._p(rel) if rel else self.base)

    def readlink(self, rel: str) -> str | None:
        path = self._p(rel)
        return os.readlink(path) if os.path.islink(path) else None

    def lexists(self, rel: str) -> bool:
        return os.path.lexists(self._p(rel))

    def close(self) -> None:
        """Nothing is held open."""


class _TarSource:
    """Members of a tar archive, indexed once; read on demand."""

    __slots__ = ("archive", "members", "dirs")

    def __init__(self, path: str) -> None:
        import tarfile  # lazily: only archives need it, and doctor must start fast

        archive = None
        try:
            archive = tarfile.open(path, "r:*")
            members = []
            for member in archive:   # tarfile keeps every member's header in memory
                members.append(member)
                if len(members) > MAX_MEMBERS:
                    raise ValueError(f"more than {MAX_MEMBERS} members: not a snapshot or sosreport")
        except Exception as exc:  # noqa: BLE001 - tarfile/gzip/lzma/bz2 each raise their own corruption errors (zlib.error)
            if archive is not None:
                archive.close()
            raise OSError(errno.EINVAL, f"not a readable tar archive ({_first_line(exc)})", str(path)) from exc
        self.archive = archive
        names = {_member_name(m.name): m for m in members}
        names.pop("", None)
        tops = {name.split("/", 1)[0] for name in names}
        strip = ""
        if len(tops) == 1 and not tops & {"proc", "sys", "etc", "var", "manifest.json"}:
            strip = tops.pop() + "/"
        self.members: dict[str, tarfile.TarInfo] = {}
        self.dirs: dict[str, set[str]] = {"": set()}
        for name, member in names.items():
            if strip and not name.startswith(strip):
                continue
            rel = name[len(strip):]
            if not rel:
                continue
            self.members[rel] = member
            parts = rel.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                self.dirs.setdefault(parent, set()).add(parts[depth])

    def _member(self, rel: str) -> tarfile.TarInfo:
        member = self.members.get(rel)
        if member is None:
            if rel in self.dirs:
                raise IsADirectoryError(errno.EISDIR, "is a directory", rel)
            raise FileNotFoundError(errno.ENOENT, "missing", rel)
        return member

    def read_bytes(self, rel: str, limit: int) -> bytes:
        try:
            return self._read_member(rel, limit)
        except OSError:
            raise
        except Exception as exc:  # tarfile/gzip/lzma/bz2 each raise their own corruption errors
            raise OSError(errno.EIO, "corrupt archive member", rel) from exc

    def _read_member(self, rel: str, limit: int) -> bytes:
        member = self._member(rel)
        seen = 0
        while member.issym() and seen < 8:  # follow links inside the archive
            target = _clean(posixpath.normpath(posixpath.join(posixpath.dirname(rel), member.linkname)))
            if target is None:
                raise FileNotFoundError(errno.ENOENT, "missing", rel)
            rel, member, seen = target, self._member(target), seen + 1
        if member.isdir():
            raise IsADirectoryError(errno.EISDIR, "is a directory", rel)
        if member.size > limit:   # the header says so: nothing is decompressed
            raise too_large(limit)
        handle = self.archive.extractfile(member)
        if handle is None:
            raise OSError(errno.EINVAL, "not a regular file", rel)
        return handle.read(limit)

    def listdir(self, rel: str) -> list[str]:
        if rel not in self.dirs:
            if rel in self.members:
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", rel)
            raise FileNotFoundError(errno.ENOENT, "missing", rel)
        return list(self.dirs[rel])

    def readlink(self, rel: str) -> str | None:
        member = self.members.get(rel)
        return member.linkname if member is not None and member.issym() else None

    def lexists(self, rel: str) -> bool:
        return rel in self.members or rel in self.dirs

    def close(self) -> None:
        self.archive.close()


class SystemRoot:
    """A machine's files under ``path``: live ``/``, a snapshot, or a sosreport.

    >>> root = SystemRoot("/nonexistent-minfree-root")
    >>> root.read_text("proc/meminfo") is None, root.gaps
    (True, [('proc/meminfo', 'missing')])
    """

    __slots__ = ("path", "is_live", "is_sosreport", "is_archive", "gaps", "_source")

    def __init__(self, path: str | os.PathLike[str] = "/", source: Source | None = None) -> None:
        """``source``: another machine's files (``minfree.sources.ssh``); ``path`` then only names
        it, and the root reads like a capture (nothing of this machine's own is read)."""
        self.path = os.fspath(path)   # a str, not a pathlib.Path: doctor starts without pathlib (~4 ms)
        self.is_live = source is None and os.path.realpath(self.path) == "/"
        self.is_archive = source is None and os.path.isfile(self.path) and self.path.endswith(TAR_SUFFIXES)
        self._source: Source = source if source is not None else (
            _TarSource(self.path) if self.is_archive else _DirSource(self.path, self.is_live)
        )
        self.is_sosreport = any(self._source.lexists(m) for m in SOSREPORT_MARKERS)
        self.gaps: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"SystemRoot({self.path!r})"

    def close(self) -> None:
        """Release the archive handle or the remote session (a no-op for directories)."""
        self._source.close()

    def __enter__(self) -> SystemRoot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _gap(self, rel: str, reason: str, optional: bool) -> None:
        if not optional:
            self.gaps.append((rel, reason))

    def read_bytes(self, rel: str, *, optional: bool = False) -> bytes | None:
        """The bytes of ``rel``, or None (gap recorded unless ``optional``)."""
        clean = _clean(rel)
        if clean is None:
            self._gap(rel, "invalid path", optional)
            return None
        try:
            return self._source.read_bytes(clean, max_bytes(clean))
        except OSError as exc:
            self._gap(clean, _reason(exc), optional)
            return None

    def read_text(self, rel: str, *, optional: bool = False) -> str | None:
        """The text of ``rel``, or None (gap recorded unless ``optional``)."""
        data = self.read_bytes(rel, optional=optional)
        return None if data is None else data.decode("utf-8", errors="replace")

    def read_first(self, *rels: str, optional: bool = False) -> tuple[str, str] | None:
        """``(rel, text)`` of the first readable of ``rels`` (old and new locations).

        When none is readable, one gap is recorded: the first path, with its reason.
        """
        first_gap = len(self.gaps)
        for rel in rels:
            text = self.read_text(rel, optional=optional)
            if text is not None:
                del self.gaps[first_gap:]
                return rel, text
        del self.gaps[first_gap + 1:]
        return None

    def listdir(self, rel: str, *, optional: bool = False) -> list[str]:
        """Sorted entry names of directory ``rel`` ([] when it cannot be listed)."""
        clean = _clean(rel)
        if clean is None:
            self._gap(rel, "invalid path", optional)
            return []
        try:
            names = self._source.listdir(clean)
        except OSError as exc:
            self._gap(clean, _reason(exc), optional)
            return []
        return sorted({n[: -len(LINK_SUFFIX)] if n.endswith(LINK_SUFFIX) else n for n in names})

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` exists (a captured symlink counts); never records a gap."""
        clean = _clean(rel)
        if clean is None:
            return False
        return self._source.lexists(clean) or self._source.lexists(clean + LINK_SUFFIX)

    def readlink(self, rel: str, *, optional: bool = False) -> str | None:
        """Target of symlink ``rel`` as stored (live link, archive link or ``.readlink`` file)."""
        clean = _clean(rel)
        if clean is None:
            self._gap(rel, "invalid path", optional)
            return None
        try:
            target = self._source.readlink(clean)
            if target is None and self._source.lexists(clean + LINK_SUFFIX):
                data = self._source.read_bytes(clean + LINK_SUFFIX, max_bytes(clean + LINK_SUFFIX))
                target = data.decode("utf-8", errors="replace").strip()
        except OSError as exc:
            self._gap(clean, _reason(exc), optional)
            return None
        if target is None:
            reason = "not a symlink" if self._source.lexists(clean) else "missing"
            self._gap(clean, reason, optional)
            return None
        if not target:
            self._gap(clean, "empty link target", optional)
            return None
        return target

    def readlink_name(self, rel: str, *, optional: bool = False) -> str | None:
        """Last component of the target of symlink ``rel`` (e.g. a driver name)."""
        target = self.readlink(rel, optional=optional)
        if target is None:
            return None
        name = posixpath.basename(target.rstrip("/"))
        if not name:
            self._gap(rel, "empty link target", optional)
            return None
        return name
