"""Captured systems for the fleet's test hosts, from ../shared/kernel-failures.

Each case there is a real Debian kernel (5.10.262, 6.1.192) booted under QEMU; its ``boot/``
holds /proc and the vm sysctls at boot, each ``steps/NN-*/proc`` the memory files after a
step (``01-e1``: memory exhausted down to the watermarks; ``04-r1``: recovered), and
``kmsg.txt`` the raw /dev/kmsg records of that boot with six failure reports. A host root is
the boot files, one step's memory files and either the whole log (``failing``) or the log up
to the first failure report (a healthy node of the same boot).
"""
from __future__ import annotations

import shutil
from pathlib import Path

KERNEL_FAILURES = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures"
FIRST_FAILURE = b"page allocation failure"


def make_capture(dest: Path, case: str, step: str, *, failing: bool) -> Path:
    """A root under ``dest`` (new) serving ``case`` at ``step``; returns ``dest``."""
    source = KERNEL_FAILURES / case
    shutil.copytree(source / "boot" / "proc", dest / "proc")
    for memory in (source / "steps" / step / "proc").iterdir():
        shutil.copy(memory, dest / "proc" / memory.name)
    log = (source / "kmsg.txt").read_bytes()
    if not failing:
        lines = log.splitlines(keepends=True)
        first = next(i for i, line in enumerate(lines) if FIRST_FAILURE in line)
        log = b"".join(lines[:first])
    (dest / "var" / "log").mkdir(parents=True)
    (dest / "var" / "log" / "dmesg").write_bytes(log)
    return dest
