"""Kernel release strings: parse them, and find them in log lines.

A kernel log names its release in a few places: the boot banner
(``Linux version 5.4.0-42-generic (buildd@...)``), and the header that
``dump_stack()`` prints before every call trace (``CPU: N PID: N Comm: X
Not tainted <release> #<build>``; ``Pid: N, comm: X Tainted: ... <release>``
on 2.6.2x-3.8, see lib/dump_stack.c / arch/x86/kernel/process.c).
Debian kernels name the ABI in the release (``4.9.0-5-amd64``) and the real
upstream patch level only in the build string (``#1 Debian 4.9.65-3+deb9u2``,
from ``UTS_VERSION``); the latter is preferred for the patch number.
"""

from __future__ import annotations

import functools
import re

from minfree.model.record import record

__all__ = ["KernelVersion", "parse_release", "release_from_line", "release_wrapped"]


@record(order=True)
class KernelVersion:
    """A kernel version as far as GFP decoding and watermark models care."""

    major: int
    minor: int
    patch: int = 0
    release: str = ""  # full release string as printed, e.g. "3.10.0-327.el7.x86_64"
    vendor: str | None = None  # "rhel6" | "rhel7" | "rhel8" | "suse" | "android" | None

    @property
    def base(self) -> tuple[int, int, int]:
        """(major, minor, patch) for range comparisons."""
        return (self.major, self.minor, self.patch)


_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?([^\s]*)")
# "#1 SMP Debian 4.9.65-3+deb9u2": UTS_VERSION of Debian kernels (the gcc
# version in /proc/version also says "(Debian 6.3.0-18)", but never after "#N").
_DEBIAN_UPSTREAM = re.compile(r"#\d+(?:\s+[A-Z][A-Z_]*)*\s+Debian\s+(\d+)\.(\d+)(?:\.(\d+))?")
_VENDOR_MARKERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.el6(?:\b|_|\.)"), "rhel6"),
    (re.compile(r"\.el7(?:\b|_|\.)"), "rhel7"),
    (re.compile(r"\.el8(?:\b|_|\.)"), "rhel8"),
    (re.compile(r"android", re.IGNORECASE), "android"),
    # SUSE/SLES flavours end in "-default" (e.g. "4.4.49-hotplug19-default",
    # "5.14.21-150400.24.46-default").
    (re.compile(r"-default$"), "suse"),
)


def _vendor(release: str) -> str | None:
    for pattern, name in _VENDOR_MARKERS:
        if pattern.search(release):
            return name
    return None


@functools.lru_cache(maxsize=64)   # every report of a host prints its release; the version is frozen
def parse_release(text: str) -> KernelVersion | None:
    """Parse a kernel release (``uname -r``), optionally followed by its build string.

    Returns None when the text does not start with a ``major.minor`` version.

    >>> parse_release("4.9.0-5-amd64")
    KernelVersion(major=4, minor=9, patch=0, release='4.9.0-5-amd64', vendor=None)
    >>> parse_release("2.6.32-642.6.2.el6.x86_64").vendor
    'rhel6'
    >>> parse_release("3.10.0-327.el7.x86_64").base
    (3, 10, 0)
    >>> parse_release("4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2").base
    (4, 9, 65)
    >>> parse_release("4.4.49-hotplug19-default").vendor
    'suse'
    >>> parse_release("not a kernel") is None
    True
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    match = _RELEASE.match(stripped)
    if match is None:
        return None
    try:
        major, minor = int(match.group(1)), int(match.group(2))
        patch = int(match.group(3)) if match.group(3) else 0
    except ValueError:
        return None
    release = match.group(0)
    debian = _DEBIAN_UPSTREAM.search(stripped, match.end())
    if debian and (int(debian.group(1)), int(debian.group(2))) == (major, minor):
        patch = int(debian.group(3) or 0)
    return KernelVersion(major, minor, patch, release, _vendor(release))


# Release right after the taint state of dump_stack()'s header. The taint flags are capital
# letters, one per taint bit in the order of taint_flags[] and a space for each bit not set,
# so they read as runs ("Tainted: G           OE      6.1.0-57-amd64", "Tainted: PF W O
# 3.8.0-29-generic"; kernel/panic.c print_tainted, 3.x-6.18). RHEL kernels print their
# "--------- -  -" build marker before the release (3.10.0-*.el7, 4.18.0-*.el8), and RHEL 7/8
# put "Kdump: loaded" between the comm and the taint state; a mail wrap that ate the spaces
# glues the last flag to that marker ("Tainted: GF" / "O--------------   3.10.0-123.9.3...",
# tests/corpus 160). Each run needs a character after its blanks: linear.
_TAINT_STATE = r"(?:Not tainted|Tainted:(?:[ \t]+(?:[A-Z]+-*|-+))*)"
_AFTER_TAINT = re.compile(
    _TAINT_STATE + r"[ \t]+(\d+\.\d+[^\s]*(?:[ \t]+#\d+(?:[ \t]+[A-Z][A-Z_]*)*[ \t]+Debian[ \t]+\d+\.\d+(?:\.\d+)?\S*)?)"
)
# A dump_stack() header cut after the taint state (a wrapped paste): the release is on the
# next line, possibly behind the rest of the flags (corpus 001, 010, 018).
_TAINT_AT_END = re.compile(r"(?:Not tainted|Tainted:)[ \tA-Z-]*$")
# The rest of a release broken after a hyphen: the next line starts with it, then " #N" or ends.
_RELEASE_REST = re.compile(r"([\w.+~-]+)(?:[ \t]+#\d+.*)?$")
_BANNER = re.compile(
    r"Linux version (\d+\.\d+[^\s]*)(?:.*?(#\d+(?:\s+[A-Z][A-Z_]*)*\s+Debian\s+\d+\.\d+(?:\.\d+)?\S*))?"
)


def release_from_line(text: str) -> str | None:
    """Find the kernel release in one log line, or None.

    For Debian kernels the build string with the upstream version is kept
    after the release, so that :func:`parse_release` can use its patch level.

    >>> release_from_line("Linux version 5.4.0-42-generic (buildd@lgw01-amd64-039) (gcc version 9.3.0) #46-Ubuntu SMP")
    '5.4.0-42-generic'
    >>> release_from_line("[21161.092848] kernel: CPU: 5 PID: 84786 Comm: earlyoom Not tainted 5.9.0-0.rc4.5.fc34.x86_64+debug #1")
    '5.9.0-0.rc4.5.fc34.x86_64+debug'
    >>> release_from_line("[73797.116757] CPU: 8 PID: 0 Comm: swapper/8 Tainted: G             L  4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2")
    '4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2'
    >>> release_from_line("Pid: 31170, comm: splat Tainted: P         C O 3.8.0-1-mainline #1")
    '3.8.0-1-mainline'
    >>> release_from_line("CPU: 0 PID: 0 Comm: swapper/0 Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.192-3")
    '6.1.0-57-amd64 #1 Debian 6.1.192-3'
    >>> release_from_line("Pid: 7812, comm: tcpdump Tainted: PF       W  O 3.8.0-29-generic #42~precise1-Ubuntu")
    '3.8.0-29-generic'
    >>> release_from_line("CPU: 21 PID: 0 Comm: swapper/21 Kdump: loaded Tainted: P           OE  ------------   3.10.0-1062.el7.x86_64 #1")
    '3.10.0-1062.el7.x86_64'
    >>> release_from_line("page allocation failure: order:0, mode:0x20") is None
    True
    """
    if not isinstance(text, str):
        return None
    banner = _BANNER.search(text)
    if banner:
        return banner.group(1) + (" " + banner.group(2) if banner.group(2) else "")
    taint = _AFTER_TAINT.search(text)
    if taint:
        return re.sub(r"[ \t]+", " ", taint.group(1))
    return None


def release_wrapped(header: str, next_line: str) -> str | None:
    """The release of a dump_stack() header that ``header`` cut after its taint state, read
    from ``next_line``; None when ``header`` is not cut there or the next line does not go on.

    >>> release_wrapped("CPU: 17 PID: 1652 Comm: kworker/17:1H Tainted: G", " W  OE  ------------   3.10.0-327")
    '3.10.0-327'
    >>> release_wrapped("CPU: 2 PID: 3124 Comm: kworker/2:1H Tainted:", "G        W         5.2.0-next-20190711+ #3")
    '5.2.0-next-20190711+'
    >>> release_wrapped("CPU: 2 PID: 3124 Comm: kworker/2:1H Tainted: G", "Hardware name: QEMU") is None
    True

    A mail client may also break the release itself after a hyphen (corpus 156, Outlook):

    >>> release_wrapped("CPU: 0 PID: 612 Comm: mmcqd/1 Tainted: P           O 3.12.10-005-", "ts-armv7l #2")
    '3.12.10-005-ts-armv7l'
    """
    cut = _TAINT_AT_END.search(header)
    if cut is None:
        release = release_from_line(header)
        rest = _RELEASE_REST.match(next_line.strip())
        if release is None or not release.endswith("-") or not header.rstrip().endswith(release) or rest is None:
            return None
        return release + rest.group(1)
    return release_from_line(header[cut.start():].rstrip() + " " + next_line.strip())
