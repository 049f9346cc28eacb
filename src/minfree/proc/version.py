"""/proc/version: the running kernel's release string.

Format (init/version.c, unchanged since 2.6): ``Linux version <release>
(<builder>) (<compiler>) #<build> ...``. When /proc/version was not captured
(some sosreports), ``/proc/sys/kernel/osrelease`` holds the release alone.
"""

from __future__ import annotations


from minfree.model.kversion import KernelVersion, parse_release
from minfree.model.record import record

_PREFIX = "Linux version "


@record
class ProcVersion:
    """The running kernel from /proc/version (or osrelease alone): the release word, its parsed
    version (None when it is not ``major.minor...``) and the whole banner line."""

    release: str
    version: KernelVersion | None
    banner: str


def parse_version(text: str) -> ProcVersion | None:
    """The release in /proc/version text (None when it is not a Linux banner).

    Sample from this machine:

    >>> v = parse_version("Linux version 6.18.44-fc-v669 (builder@sandboxing) (gcc (GCC) 15.3.0, "
    ...                   "GNU ld (GNU Binutils) 2.46) #1 SMP PREEMPT_DYNAMIC @0")
    >>> v.release, v.version.major, v.version.minor
    ('6.18.44-fc-v669', 6, 18)

    RHEL6 format:

    >>> parse_version("Linux version 2.6.32-642.6.2.el6.x86_64 (mockbuild@x86-028.build.eng.bos.redhat.com) "
    ...               "(gcc version 4.4.7 20120313 (Red Hat 4.4.7-17) (GCC) ) #1 SMP Wed Oct 26 06:52:09 EDT 2016").release
    '2.6.32-642.6.2.el6.x86_64'
    >>> parse_version("garbage") is None
    True
    """
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(_PREFIX):
            words = line[len(_PREFIX):].split()
            if words:
                # Debian names the upstream patch level in the build string, after the last
                # "#": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"; the compiler
                # part before it ("(Debian 12.2.0-14)") must not be taken for it.
                build = line[line.rfind("#"):] if "#" in line else ""
                return ProcVersion(words[0], parse_release(f"{words[0]} {build}"), line)
    return None


def parse_osrelease(text: str) -> ProcVersion | None:
    """The release in /proc/sys/kernel/osrelease (one word).

    >>> parse_osrelease("3.10.0-1160.el7.x86_64\\n").release
    '3.10.0-1160.el7.x86_64'
    """
    words = text.split()
    if len(words) != 1:
        return None
    return ProcVersion(words[0], parse_release(words[0]), words[0])
