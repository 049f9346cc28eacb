"""The test process's own child processes, as the kernel lists them."""
from __future__ import annotations

import os


def children() -> set[int]:
    """PIDs of this process's children, zombies included (/proc/PID/task/TID/children)."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as handle:
            found.update(int(pid) for pid in handle.read().split())
    return found
