"""A sandbox for the actions: a fake /proc/sys/vm and a Debian-shaped config root under tmp_path.

Live values are written to ``proc/sys/vm`` under the sandbox through ``SysctlWriter(tree)``, so
no test of the journal, undo or the safe writer changes the machine.
"""
from __future__ import annotations

import os
from pathlib import Path

SYSCTL_CONF = b"# Debian\nvm.min_free_kbytes = 1310720\nkernel.sysrq=1\n"


def make_tree(tmp_path: Path) -> Path:
    """vm.min_free_kbytes 67584 and vm.watermark_scale_factor 10; sysctl.conf (mode 0640) with a
    conflicting line, linked from sysctl.d/99-sysctl.conf as on Debian."""
    vm = tmp_path / "proc/sys/vm"
    vm.mkdir(parents=True)
    (vm / "min_free_kbytes").write_text("67584\n")
    (vm / "watermark_scale_factor").write_text("10\n")
    config = tmp_path / "config"
    (config / "etc/sysctl.d").mkdir(parents=True)
    (config / "etc/sysctl.conf").write_bytes(SYSCTL_CONF)
    os.chmod(config / "etc/sysctl.conf", 0o640)
    os.symlink("../sysctl.conf", config / "etc/sysctl.d/99-sysctl.conf")
    return tmp_path


def files_of(root: Path) -> dict[str, tuple]:
    """Every path under root: bytes, mode and owner, a link's target, or a directory's mode."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = os.lstat(path)
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_file():
            found[rel] = ("file", path.read_bytes(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
        else:
            found[rel] = ("dir", st.st_mode & 0o7777)
    return found


def live(tree: Path) -> tuple[str, str]:
    """The sandbox's live vm.min_free_kbytes and vm.watermark_scale_factor, as read."""
    vm = tree / "proc/sys/vm"
    return (vm / "min_free_kbytes").read_text(), (vm / "watermark_scale_factor").read_text()
