"""A memory cgroup held at its limit, for a silent GFP_NOWAIT-like failure on demand.

A process in a memory cgroup whose limit equals its usage asks for a large ``kvmalloc`` with
``GFP_KERNEL_ACCOUNT``: growing its file descriptor table to ``RLIMIT_NOFILE - 1``
(fs/file.c alloc_fdtable, 6.18: ``kvmalloc_array(nr, sizeof(struct file *),
GFP_KERNEL_ACCOUNT)``; 32768 slots = 256 KiB, order 6). ``kvmalloc`` first tries kmalloc
without direct reclaim and with ``__GFP_NOWARN`` (mm/util.c ``kmalloc_gfp_adjust``); the
page allocator finds the pages, but the memcg charge of a request that cannot block fails at
the limit (mm/memcontrol.c ``try_charge_memcg``: ``!gfpflags_allow_blocking`` -> ``nomem``,
before any ``memory.events`` count), so ``__alloc_frozen_pages`` returns NULL and
``mm_page_alloc`` fires with no page. Nothing is logged and no counter moves. kvmalloc then
falls back to vmalloc, which may reclaim: the child's own clean page cache (32 MiB written
and synced) gives it room, so the fd table still grows and nothing is killed.

Host memory is never short: only the test's cgroup is. cgroup v1 (``memory.limit_in_bytes``)
and v2 (``memory.max``) both work; the cgroup is removed in a finally block.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

V1 = Path("/sys/fs/cgroup/memory")
V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))

CHILD = r'''
import os, resource, sys, tempfile
with tempfile.TemporaryFile(dir="/var/tmp") as cache:
    cache.write(b"x" * (32 << 20)); cache.flush(); os.fsync(cache.fileno())
    print("ready", flush=True); sys.stdin.readline()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    os.dup2(0, limit - 1)
    print(os.getpid(), flush=True)
'''


def memory_cgroup_root() -> tuple[Path, str, str] | None:
    """(directory, limit file, usage file) of a mounted memory controller, or None."""
    if (V1 / "memory.limit_in_bytes").is_file():
        return V1, "memory.limit_in_bytes", "memory.usage_in_bytes"
    for root in V2_ROOTS:
        controllers = root / "cgroup.subtree_control"
        if controllers.is_file() and "memory" in controllers.read_text().split():
            return root, "memory.max", "memory.current"
    return None


def grow_fd_table_at_the_limit(root: tuple[Path, str, str], open_counter: Callable[[int], object]) -> tuple[int, int]:
    """Run the child in a new cgroup at its limit. ``open_counter(pid)`` gives the kernel's
    count of the child's own failed allocations (opened before it asks, read after it exits).
    Returns the child's pid and that count."""
    directory, limit, usage = root
    cgroup = directory / f"minfree-test-{os.getpid()}"
    cgroup.mkdir()
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, preexec_fn=lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())))
        try:
            assert child.stdout.readline() == "ready\n"
            counter = open_counter(child.pid)
            try:
                counter.enable()
                (cgroup / limit).write_text((cgroup / usage).read_text().strip())
                child.stdin.write("\n")
                child.stdin.flush()
                assert int(child.stdout.readline()) == child.pid
                child.wait(timeout=30)
                counter.disable()
                counted = counter.read()[0]
            finally:
                counter.close()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        return child.pid, counted
    finally:
        for _ in range(50):  # the killed child leaves the cgroup a moment later
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.1)
