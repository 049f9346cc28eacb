"""Captures of ../shared/kernel-failures (real 5.10 and 6.1 kernels made to fail allocations)
laid out as doctor reads a snapshot."""
from __future__ import annotations

import shutil
from pathlib import Path

KERNEL_FAILURES = Path(__file__).resolve().parents[2] / "shared" / "kernel-failures"
KERNEL_FAILURE_FILES = ("buddyinfo", "meminfo", "pagetypeinfo", "vmstat", "zoneinfo")


def kernel_failure_cases() -> list[Path]:
    """The cases of ../shared/kernel-failures (real 5.10 and 6.1 kernels), [] when absent."""
    return sorted(p for p in KERNEL_FAILURES.glob("*") if (p / "case.json").is_file())


def kernel_failure_root(tmp_path: Path, case: Path, step: str) -> Path:
    """A snapshot-like root of one capture: the step's /proc memory files (``boot`` for the
    capture at boot) with the case's boot-time sysctls, version and cmdline beside them."""
    root = tmp_path / f"{case.name}-{step}"
    proc = root / "proc"
    proc.mkdir(parents=True)
    source = case / "boot" / "proc" if step == "boot" else case / "steps" / step / "proc"
    for name in KERNEL_FAILURE_FILES:
        shutil.copy(source / name, proc / name)
    shutil.copytree(case / "boot" / "proc" / "sys", proc / "sys")
    for name in ("version", "cmdline"):
        shutil.copy(case / "boot" / "proc" / name, proc / name)
    return root
