"""``minfree snapshot OUT``: capture every file doctor reads, for offline use.

OUT is a directory, or a gzip tarball when its name ends in ``.tar.gz``/``.tgz``.
Files keep their paths relative to ``/`` (``proc/zoneinfo``...), so
``SystemRoot(OUT)`` reads them back through the same readers. A symlink ``P``
is stored as the file ``P.readlink`` holding its target (see
``minfree.sources.root``). ``manifest.json`` records when, where, which kernel,
which files were captured and which could not be read.

Order matters:

1. The fast-changing memory state first, back to back: zoneinfo, buddyinfo,
   pagetypeinfo, debugfs extfrag indices, meminfo, vmstat, PSI, node meminfo.
2. Static facts, sysctls, THP, NICs, config files, the kernel log.
3. ``vm.lowmem_reserve_ratio`` LAST: reading it makes the kernel recompute
   every zone's ``protection:`` (kernel-memory.md §10), so zoneinfo must
   already hold the as-found values.

Never read: ``compact_memory`` and ``drop_caches`` (write-only) and
``stat_refresh`` (a read forces a vmstat refresh on every CPU).
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from minfree.sources.kmsg import read_kmsg_snapshot
from minfree.sources.root import LINK_SUFFIX, SystemRoot
from minfree.proc.sysctl import LOWMEM_RESERVE_RATIO, VM_DIR
from minfree.proc.sysctl_files import SYSCTL_CONF, SYSCTL_D_DIRS
from minfree.proc.thp import THP_DIRS

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "minfree-snapshot/1"
KERNEL_LOG = "var/log/dmesg"
SOS_KERNEL_LOG = "sos_commands/kernel/dmesg"
TARBALL_SUFFIXES = (".tar.gz", ".tgz")

MEMORY_STATE = (
    "proc/zoneinfo", "proc/buddyinfo", "proc/pagetypeinfo",
    "sys/kernel/debug/extfrag/unusable_index", "sys/kernel/debug/extfrag/extfrag_index",
    "proc/meminfo", "proc/vmstat", "proc/pressure/memory",
)
FACTS = (
    "proc/version", "proc/cmdline", "proc/cpuinfo",
    "proc/sys/kernel/osrelease", "proc/sys/kernel/hostname",
    "sys/devices/system/cpu/online", "sys/devices/system/cpu/possible",
    "sys/devices/system/node/online", "sys/devices/system/node/possible",
    "sys/devices/system/node/has_memory", "sys/devices/system/node/has_normal_memory",
)
NEVER_READ_VM = frozenset({"compact_memory", "drop_caches", "stat_refresh", "lowmem_reserve_ratio"})
NET_FILES = ("mtu", "speed", "operstate")
NET_OPTIONAL = frozenset({"speed"})  # EINVAL on virtual and down links


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    out: Path
    files: int
    missing: tuple[tuple[str, str], ...]
    seconds: float


class _DirSink:
    __slots__ = ("base",)

    def __init__(self, base: Path) -> None:
        if base.exists() and any(base.iterdir()):
            raise FileExistsError(errno.EEXIST, "snapshot directory is not empty", str(base))
        base.mkdir(parents=True, exist_ok=True)
        self.base = base

    def write(self, rel: str, data: bytes) -> None:
        path = self.base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def commit(self) -> None:
        """Directory writes are already in place."""

    def abort(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


class _TarSink:
    __slots__ = ("final", "partial", "archive", "mtime")

    def __init__(self, final: Path) -> None:
        if final.exists():
            raise FileExistsError(errno.EEXIST, "snapshot file exists", str(final))
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.archive = tarfile.open(self.partial, "w:gz")
        self.mtime = time.time()

    def write(self, rel: str, data: bytes) -> None:
        info = tarfile.TarInfo(rel)
        info.size, info.mtime, info.mode = len(data), self.mtime, 0o644
        self.archive.addfile(info, io.BytesIO(data))

    def commit(self) -> None:
        self.archive.close()
        os.replace(self.partial, self.final)

    def abort(self) -> None:
        self.archive.close()
        self.partial.unlink(missing_ok=True)


def _net_paths(source: SystemRoot) -> Iterator[tuple[str, bool]]:
    for name in source.listdir("sys/class/net"):
        for leaf in NET_FILES:
            yield f"sys/class/net/{name}/{leaf}", leaf in NET_OPTIONAL


def _thp_paths(source: SystemRoot) -> Iterator[str]:
    for directory in THP_DIRS:
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
    """Output of ``dmesg``, else a non-blocking read of /dev/kmsg."""
    try:
        done = subprocess.run(["dmesg"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is not None and done.returncode == 0 and done.stdout:
        return done.stdout.decode("utf-8", errors="replace")
    try:   # /dev/kmsg records ("6,339,5140900,-;text") as they are: scan reads them directly
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
            sink.write(rel, text.encode())
            captured.append(rel)
        return text

    def copy_link(rel: str) -> None:
        target = source.readlink(rel, optional=True)
        if target is not None:
            sink.write(rel + LINK_SUFFIX, (target + "\n").encode())
            captured.append(rel + LINK_SUFFIX)

    try:
        for rel in MEMORY_STATE:
            copy(rel)
        for node in source.listdir("sys/devices/system/node", optional=True):
            if node.startswith("node") and node[4:].isdecimal():
                copy(f"sys/devices/system/node/{node}/meminfo")
        for rel in FACTS:
            copy(rel)
        for name in source.listdir(VM_DIR):
            if name not in NEVER_READ_VM:
                copy(f"{VM_DIR}/{name}")
        for rel in _thp_paths(source):
            copy(rel, optional=True)
        for rel, optional in _net_paths(source):
            copy(rel, optional)
        for name in source.listdir("sys/class/net", optional=True):
            copy_link(f"sys/class/net/{name}/device")
            copy_link(f"sys/class/net/{name}/device/driver")
        copy(SYSCTL_CONF)
        for directory in SYSCTL_D_DIRS:
            for name in source.listdir(directory, optional=True):
                copy(f"{directory}/{name}", optional=True)
        if source.is_live:
            log = kernel_log()
        else:
            found = source.read_first(KERNEL_LOG, SOS_KERNEL_LOG)
            log = None if found is None else found[1]
        if log is not None:
            sink.write(KERNEL_LOG, log.encode())
            captured.append(KERNEL_LOG)
        elif source.is_live:
            source.gaps.append((KERNEL_LOG, "dmesg and /dev/kmsg unreadable"))
        copy(LOWMEM_RESERVE_RATIO)  # last: the read recomputes protection (see module doc)
        seconds = clock() - started
        release = source.read_text("proc/sys/kernel/osrelease", optional=True)
        hostname = source.read_text("proc/sys/kernel/hostname", optional=True)
        manifest = {
            "format": MANIFEST_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hostname": hostname.strip() if hostname else socket.gethostname() if source.is_live else None,
            "kernel": release.strip() if release else None,
            "source": str(source.path),
            "source_is_sosreport": source.is_sosreport,
            "symlinks": f"a symlink P is stored as the file P{LINK_SUFFIX} holding its target",
            "capture_seconds": round(seconds, 4),
            "files": captured,
            "missing": [{"path": path, "reason": reason} for path, reason in source.gaps],
        }
        sink.write(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return SnapshotResult(out_path, len(captured), tuple(source.gaps), seconds)
