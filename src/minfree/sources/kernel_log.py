"""The kernel log of the boot a root describes: what doctor and tune take as "failures in the log".

Live: the records the ring buffer holds now (``/dev/kmsg``, never blocking): this boot only.
A snapshot or sosreport: the log it captured (``specs.KERNEL_LOG``). One meaning everywhere:
the boot being diagnosed, never older boots a journal may keep.
"""
from __future__ import annotations

import io
import os
from collections import namedtuple

from minfree.sources import specs
from minfree.sources.kmsg import KMSG_PATH, read_kmsg_snapshot
from minfree.sources.root import SystemRoot

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:
    from minfree.sources.logfiles import Input

# What every message the log scanner reports holds, as /dev/kmsg prints it: a failure header
# "page allocation failure", "vmalloc: allocation failure" or "vmalloc error" (logs/header.py),
# a related message "warn_alloc: N callbacks suppressed", "page allocation stalls for",
# "Killed process", "SLUB/SLAB: Unable to allocate memory", "TCP: out of memory" or "Out of
# socket memory" (logs/related.py). /dev/kmsg gives one record per line, each with its own
# prefix, and escapes every byte below 0x20 in its text (Documentation/ABI/testing/dev-kmsg,
# printk.c msg_add_ext_text, 6.18): no record is wrapped onto another, so each phrase is whole
# in the raw bytes. tests/sources/test_kernel_log.py checks this against the real scanner.
_KMSG_REPORT_PHRASES = (b"allocation failure", b"vmalloc error", b"warn_alloc", b"allocation stalls",
                        b"Killed process", b"Unable to allocate", b"out of memory", b"socket memory")
_KERNEL_PRIORITIES = frozenset(b"01234567")


def _kmsg_may_hold_report(data: bytes) -> bool:
    """Whether a record of ``data`` (raw /dev/kmsg records) holds a phrase above and is kernel
    text to the scanner: written by the kernel (PRIORITY 0-7, facility LOG_KERN; devkmsg_write
    gives what user space writes another facility, printk.c 3.5-6.18), or written by user space
    under a "kernel:" tag, which logs/prefix.py also reads as kernel text.

    >>> _kmsg_may_hold_report(b"4,9,7,-;java: page allocation failure: order:1\\n")
    True
    >>> _kmsg_may_hold_report(b"12,9,7,-;mftest: page allocation failure: order:1\\n")
    False
    >>> _kmsg_may_hold_report(b"12,9,7,-;kernel: page allocation failure: order:1\\n")
    True
    """
    for phrase in _KMSG_REPORT_PHRASES:
        found = data.find(phrase)
        while found != -1:
            start = data.rfind(b"\n", 0, found) + 1
            if (data[start] in _KERNEL_PRIORITIES and data[start + 1:start + 2] == b",") \
                    or b"kernel:" in data[start:found]:
                return True
            found = data.find(phrase, found + len(phrase))
    return False


class BootLog(namedtuple("BootLog", "name kind data")):
    """The bytes of a boot's kernel log (``data``), as read, and where they came from: ``name`` is
    shown to the user (/dev/kmsg or the captured file's path), ``kind`` is "kmsg" or "file"
    (:attr:`minfree.sources.logfiles.Input.kind`)."""

    __slots__ = ()

    def may_hold_report(self) -> bool:
        """False only when a scan of the log cannot find a failure report or a related message:
        a live kernel log with none of the phrases above in kernel text. A captured file may be
        wrapped or re-encoded (a journal's byte arrays), so it is always scanned.

        >>> BootLog(KMSG_PATH, "kmsg", b"6,1,5,-;eth0: link up\\n").may_hold_report()
        False
        >>> BootLog(KMSG_PATH, "kmsg", b"4,9,7,-;java: page allocation failure: order:1\\n").may_hold_report()
        True
        >>> BootLog("var/log/dmesg", "file", b"eth0: link up\\n").may_hold_report()
        True
        """
        return self.kind != "kmsg" or _kmsg_may_hold_report(self.data)

    def as_input(self) -> Input:
        """The log as a scan input."""
        from minfree.sources.logfiles import Input

        return Input(self.name, self.kind, lambda: io.BytesIO(self.data))


def read_boot_log(root: SystemRoot) -> BootLog | None:
    """The log's bytes, or None (the reason is recorded in ``root.gaps``)."""
    if root.is_live:
        try:
            return BootLog(KMSG_PATH, "kmsg", read_kmsg_snapshot())
        except OSError as error:
            root.gaps.append((KMSG_PATH.lstrip("/"), error.strerror or str(error)))
            return None
    for rel in specs.KERNEL_LOG.paths:   # bytes as captured: the scanner decodes them itself
        data = root.read_bytes(rel, optional=True)
        if data is not None:
            return BootLog(os.path.join(root.path, rel), "file", data)
    root.gaps.append((specs.KERNEL_LOG.path, "no kernel log in the capture"))
    return None

