"""``minfree snapshot OUT``: capture every file doctor reads, for offline use.

OUT is a directory, or a gzip tarball when its name ends in ``.tar.gz``/``.tgz``.
Files keep their paths relative to ``/`` (``proc/zoneinfo``...), so
``SystemRoot(OUT)`` reads them back through the same readers. A symlink ``P``
is stored as the file ``P.readlink`` holding its target (see
``minfree.sources.root``). ``manifest.json`` records when, where, which kernel,
which files were captured and which could not be read.

What is captured, and in which order (memory state first, ``vm.lowmem_reserve_ratio`` last,
never the write-only knobs), is the spec registry's: ``minfree.sources.specs``; the same
registry is what ``load_system`` reads.

Every file is written through ``actions.safefs`` (``O_EXCL|O_NOFOLLOW`` temporaries, no link
followed, never replacing anything): OUT's parent must exist (nothing above OUT is created), an
existing OUT directory must be empty and trusted, an existing tarball is never overwritten.
Files get the modes of what they hold, whatever the umask: 0644 for what every user may read
on the source, 0600 otherwise (``/proc/pagetypeinfo`` is 0400; the kernel log is private when
``kernel.dmesg_restrict = 1``); a tarball holding anything private is 0600 itself.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import socket
import stat
import tarfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from minfree.actions.safefs import make_out_dir, write_file
from minfree.model.record import record
from minfree.sources import specs
from minfree.sources.kmsg import read_kmsg_snapshot
from minfree.sources.readers import netdev_names, read_spec
from minfree.sources.root import LINK_SUFFIX, SystemRoot

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "minfree-snapshot/1"
TARBALL_SUFFIXES = (".tar.gz", ".tgz")


@record
class SnapshotResult:
    """A finished snapshot: where it was written, how many files it captured, the ones that
    could not be read (path, reason) and how long it took."""

    out: Path
    files: int
    missing: tuple[tuple[str, str], ...]
    seconds: float


PUBLIC, PRIVATE = 0o644, 0o600
DMESG_RESTRICT = "proc/sys/kernel/dmesg_restrict"


class _DirSink:
    __slots__ = ("base", "created")

    def __init__(self, base: Path) -> None:
        self.created = make_out_dir(base)
        self.base = base

    def write(self, rel: str, data: bytes, mode: int) -> None:
        write_file(self.base, rel, data, mode, create_dirs=0o755)  # OUT is ours: no one else writes there

    def commit(self) -> None:
        """Directory writes are already in place."""

    def abort(self) -> None:
        if self.created:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            for child in self.base.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


class _TarSink:
    """The archive is built in memory (a few MB compressed) and written once, by the safe writer."""

    __slots__ = ("final", "buffer", "archive", "mtime", "private")

    def __init__(self, final: Path) -> None:
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "snapshot file exists", str(final))
        if not final.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such directory", str(final.parent))
        self.final = final
        self.buffer = io.BytesIO()
        self.archive = tarfile.open(fileobj=self.buffer, mode="w:gz")
        self.mtime = time.time()
        self.private = False

    def write(self, rel: str, data: bytes, mode: int) -> None:
        info = tarfile.TarInfo(rel)
        info.size, info.mtime, info.mode = len(data), self.mtime, mode
        self.archive.addfile(info, io.BytesIO(data))
        self.private |= mode == PRIVATE

    def commit(self) -> None:
        self.archive.close()
        write_file(self.final.parent, self.final.name, self.buffer.getvalue(),
                   PRIVATE if self.private else PUBLIC, replace=False)

    def abort(self) -> None:
        self.archive.close()


def source_mode(source: SystemRoot, rel: str) -> int:
    """PUBLIC when every user may read ``rel`` on the source (a directory, live ``/`` included),
    else PRIVATE (unreadable to others, or not known: an archive's member)."""
    if source.is_archive:
        return PRIVATE
    try:
        return PUBLIC if os.stat(os.path.join(source.path, rel)).st_mode & stat.S_IROTH else PRIVATE
    except OSError:
        return PRIVATE


def kernel_log_mode(source: SystemRoot, found: str | None) -> int:
    """The live ring buffer is private under ``kernel.dmesg_restrict = 1`` (and when that cannot
    be read); a captured log (``found``) keeps its file's mode."""
    if found is not None:
        return source_mode(source, found)
    restrict = source.read_text(DMESG_RESTRICT, optional=True)
    return PUBLIC if restrict is not None and restrict.strip() == "0" else PRIVATE


def _node_meminfo(source: SystemRoot) -> Iterator[specs.Spec]:
    for node in source.listdir(specs.NODE_DIR, optional=True):
        if node.startswith("node") and node[4:].isdecimal():
            yield specs.node_meminfo(int(node[4:]))


def _vm_sysctls(source: SystemRoot) -> Iterator[specs.Spec]:
    for name in source.listdir(specs.VM_DIR):
        if name not in specs.NEVER_READ_VM:
            spec = specs.vm_sysctl(name)
            if spec != specs.LOWMEM_RESERVE_RATIO:   # read last, by the capture itself
                yield spec


def _thp_paths(source: SystemRoot) -> Iterator[str]:
    for directory in specs.THP_DIRS:
        names = source.listdir(directory, optional=True)
        for name in names:
            if name.startswith("hugepages-"):
                yield f"{directory}/{name}/enabled"
                yield f"{directory}/{name}/shmem_enabled"
            elif name == "khugepaged":
                yield from (f"{directory}/khugepaged/{leaf}" for leaf in source.listdir(f"{directory}/khugepaged"))
            else:
                yield f"{directory}/{name}"


def live_kernel_log() -> str | None:
    """The records the ring buffer holds now, read from /dev/kmsg without blocking, as doctor
    reads them (``6,339,5140900,-;text``: scan reads the records directly); None if unreadable."""
    try:
        return read_kmsg_snapshot().decode("utf-8", errors="replace") or None
    except OSError:
        return None


def capture(
    out: str | os.PathLike[str],
    source: SystemRoot | None = None,
    *,
    kernel_log: Callable[[], str | None] = live_kernel_log,
    clock: Callable[[], float] = time.monotonic,
) -> SnapshotResult:
    """Copy what doctor reads from ``source`` (default: the live root) into ``out``."""
    source = SystemRoot("/") if source is None else source
    started = clock()
    out_path = Path(out)
    sink = _TarSink(out_path) if out_path.name.endswith(TARBALL_SUFFIXES) else _DirSink(out_path)
    captured: list[str] = []

    def copy(rel: str, optional: bool = False) -> str | None:
        text = source.read_text(rel, optional=optional)
        if text is not None:
            sink.write(rel, text.encode(), source_mode(source, rel))
            captured.append(rel)
        return text

    def copy_link(rel: str) -> None:
        target = source.readlink(rel, optional=True)
        if target is not None:
            sink.write(rel + LINK_SUFFIX, (target + "\n").encode(), PUBLIC)
            captured.append(rel + LINK_SUFFIX)

    def copy_spec(spec: specs.Spec) -> None:
        found = read_spec(source, spec)
        if found is not None:
            sink.write(found[0], found[1].encode(), source_mode(source, found[0]))
            captured.append(found[0])

    try:
        for spec in specs.MEMORY_STATE:
            copy_spec(spec)
        for spec in _node_meminfo(source):
            copy_spec(spec)
        for spec in specs.FACTS:
            copy_spec(spec)
        for spec in _vm_sysctls(source):
            copy_spec(spec)
        for rel in _thp_paths(source):
            copy(rel, optional=True)
        for name in netdev_names(source, optional=True):
            for leaf in specs.NET_FILES:
                copy_spec(specs.netdev_file(name, leaf))
            copy_link(specs.netdev_link(name, "device"))
            copy_link(specs.netdev_link(name, "device/driver"))
        copy(specs.SYSCTL_CONF)
        for directory in specs.SYSCTL_D_DIRS:
            for name in source.listdir(directory, optional=True):
                copy(f"{directory}/{name}", optional=True)
        log_file = None
        if source.is_live:
            log = kernel_log()
        else:
            found = read_spec(source, specs.KERNEL_LOG)
            log_file, log = (None, None) if found is None else found
        if log is not None:
            sink.write(specs.KERNEL_LOG.path, log.encode(), kernel_log_mode(source, log_file))
            captured.append(specs.KERNEL_LOG.path)
        elif source.is_live:
            source.gaps.append((specs.KERNEL_LOG.path, "/dev/kmsg unreadable"))
        copy_spec(specs.LOWMEM_RESERVE_RATIO)  # last: the read recomputes protection (see module doc)
        seconds = clock() - started
        release = source.read_text(specs.OSRELEASE.path, optional=True)
        hostname = source.read_text(specs.HOSTNAME.path, optional=True)
        manifest = {
            "format": MANIFEST_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hostname": hostname.strip() if hostname else socket.gethostname() if source.is_live else None,
            "kernel": release.strip() if release else None,
            "source": source.path,
            "source_is_sosreport": source.is_sosreport,
            "symlinks": f"a symlink P is stored as the file P{LINK_SUFFIX} holding its target",
            "capture_seconds": round(seconds, 4),
            "files": captured,
            "missing": [{"path": path, "reason": reason} for path, reason in source.gaps],
        }
        sink.write(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), PUBLIC)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return SnapshotResult(out_path, len(captured), tuple(source.gaps), seconds)
