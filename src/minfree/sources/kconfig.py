"""The running kernel's build configuration, as the text of its ``.config``.

``/proc/config.gz`` is the kernel's own copy (CONFIG_IKCONFIG_PROC); distributions install
the same file as ``/boot/config-<release>``. The first readable one wins; neither is an
answer too (None), and callers then assume a distribution kernel's options.
"""
from __future__ import annotations

import gzip
import os
import zlib

from minfree.sources import specs
from minfree.sources.readers import read_text
from minfree.sources.root import SystemRoot


def read_running_config(root: SystemRoot) -> str | None:
    """The running kernel's ``.config`` text from ``/proc/config.gz``, else from
    ``/boot/config-$(uname -r)``; None when neither is readable."""
    packed = root.read_bytes(specs.PROC_CONFIG.path, optional=True)
    if packed is not None:
        try:
            return gzip.decompress(packed).decode("utf-8", "replace")
        except (EOFError, OSError, zlib.error):   # damaged: try /boot
            pass
    return read_text(root, specs.boot_config(os.uname().release))
