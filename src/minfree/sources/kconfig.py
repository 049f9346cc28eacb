"""The running kernel's build configuration, as the text of its ``.config``.

``/proc/config.gz`` is the kernel's own copy (CONFIG_IKCONFIG_PROC); distributions install
the same file as ``/boot/config-<release>``. The first readable one wins; neither is an
answer too (None), and callers then assume a distribution kernel's options.
"""
from __future__ import annotations

import gzip
import os
import zlib

PROC_CONFIG = "proc/config.gz"
BOOT_CONFIG = "boot/config-{release}"


def read_running_config(root: str = "/") -> str | None:
    """The running kernel's ``.config`` text from ``/proc/config.gz``, else from
    ``/boot/config-$(uname -r)``; None when neither is readable."""
    try:
        with open(os.path.join(root, PROC_CONFIG), "rb") as packed:
            return gzip.decompress(packed.read()).decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error):   # absent, unreadable, or damaged
        pass
    boot = os.path.join(root, BOOT_CONFIG.format(release=os.uname().release))
    try:
        with open(boot, encoding="utf-8", errors="replace") as text:
            return text.read()
    except OSError:
        return None
