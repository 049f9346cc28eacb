"""sysctl.conf / sysctl.d files: what the configuration sets at boot.

Syntax (sysctl.conf(5) of procps-ng, sysctl.d(5) of systemd):

* ``key = value`` or ``key=value``; whitespace around key and value is dropped;
  the value is the rest of the line (no inline comments).
* Lines starting with ``#`` or ``;`` are comments; blank lines are skipped.
* A leading ``-`` on the key means "ignore errors when setting it".
* Keys use ``.`` or ``/`` separators. When the first separator is ``/``, the
  key is in slash notation and its dots are literal (``net/ipv4/conf/eth0.1/rp_filter``);
  keys are normalised to dotted form, where a literal dot is written ``/``
  (``net.ipv4.conf.eth0/1.rp_filter``), as sysctl(8) prints them.

Boot order (``sysctl --system`` and systemd-sysctl): ``*.conf`` files from the
sysctl.d directories (``minfree.sources.specs.SYSCTL_D_DIRS``), a file name in an earlier directory masking the same
name in later ones, applied in file-name order; procps then applies
/etc/sysctl.conf last. The last assignment of a key wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from minfree.model.record import record

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

@record
class SysctlSetting:
    """One ``key = value`` line of a sysctl configuration file: its line number, the key in dotted
    form, the value, and whether a leading ``-`` asks to ignore errors."""

    lineno: int
    key: str
    value: str
    ignore_errors: bool = False


@record
class SysctlConf:
    """A sysctl configuration file parsed: its assignments in file order, and the numbers of its
    malformed lines (neither blank, a comment nor ``key = value``)."""

    settings: tuple[SysctlSetting, ...]
    malformed: tuple[int, ...]


@record
class BootSetting:
    """The assignment of ``key`` that wins at boot, and where it is."""

    key: str
    value: str
    path: str
    lineno: int


def normalize_key(key: str) -> str:
    """Dotted form of a sysctl key given in dotted or slashed notation.

    >>> normalize_key("vm/min_free_kbytes"), normalize_key("vm.min_free_kbytes")
    ('vm.min_free_kbytes', 'vm.min_free_kbytes')
    >>> normalize_key("net/ipv4/conf/eth0.1/rp_filter")
    'net.ipv4.conf.eth0/1.rp_filter'
    """
    slash, dot = key.find("/"), key.find(".")
    if slash != -1 and (dot == -1 or slash < dot):
        return key.translate(str.maketrans("/.", "./"))
    return key


def conf_lines(text: str) -> list[str]:
    """The lines of a sysctl configuration file, each with its line ending, as systemd-sysctl
    reads them (systemd src/basic/fileio.c, read_line_full() and categorize_eol(): ``\\n``,
    ``\\r\\n`` or a lone ``\\r`` ends a line; it also ends one at a NUL, not modelled here);
    procps sysctl (getline(), trailing whitespace stripped) agrees on the first two. A vertical
    tab or U+2028 is inside a line, not a line break.

    >>> conf_lines("a = 1\\r\\nb = 2\\rc = 3\\vstill c\\u2028\\nd")
    ['a = 1\\r\\n', 'b = 2\\r', 'c = 3\\x0bstill c\\u2028\\n', 'd']
    """
    return _LINE.findall(text)


def parse_sysctl_conf(text: str) -> SysctlConf:
    """Assignments of a sysctl.conf or sysctl.d file, with their line numbers.

    Sample (Debian's /etc/sysctl.d/99-sysctl.conf style plus tuning lines):

    >>> conf = parse_sysctl_conf('''# /etc/sysctl.conf - Configuration file for setting system variables
    ... ;kernel.domainname = example.com
    ... vm.min_free_kbytes = 1310720
    ...   vm/swappiness=10
    ... -vm.extra_free_kbytes = 204800
    ... net.ipv4.tcp_rmem = 4096 87380 6291456
    ... this line is wrong
    ... ''')
    >>> [(s.lineno, s.key, s.value, s.ignore_errors) for s in conf.settings]  # doctest: +NORMALIZE_WHITESPACE
    [(3, 'vm.min_free_kbytes', '1310720', False), (4, 'vm.swappiness', '10', False),
     (5, 'vm.extra_free_kbytes', '204800', True), (6, 'net.ipv4.tcp_rmem', '4096 87380 6291456', False)]
    >>> conf.malformed
    (7,)
    """
    settings: list[SysctlSetting] = []
    malformed: list[int] = []
    for lineno, raw in enumerate(conf_lines(text), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        ignore_errors = key.startswith("-")
        key = key.lstrip("-").strip()
        if not sep or not key or any(ch.isspace() for ch in key):
            malformed.append(lineno)
            continue
        settings.append(SysctlSetting(lineno, normalize_key(key), value.strip(), ignore_errors))
    return SysctlConf(tuple(settings), tuple(malformed))


def boot_order(listing: Mapping[str, Iterable[str]], sysctl_conf: str | None = None) -> list[str]:
    """Config files in the order they are applied at boot (see module doc).

    ``listing`` maps each sysctl.d directory to its entry names, in masking order (the first
    directory wins a name); ``sysctl_conf`` is /etc/sysctl.conf's path when it exists.

    >>> boot_order({"etc/sysctl.d": ["99-sysctl.conf", "README"], "run/sysctl.d": [],
    ...             "usr/lib/sysctl.d": ["50-pid-max.conf", "99-sysctl.conf"]}, "etc/sysctl.conf")
    ['usr/lib/sysctl.d/50-pid-max.conf', 'etc/sysctl.d/99-sysctl.conf', 'etc/sysctl.conf']
    """
    chosen: dict[str, str] = {}
    for directory, names in listing.items():
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{directory}/{name}"
    ordered = [chosen[name] for name in sorted(chosen)]
    if sysctl_conf is not None:
        ordered.append(sysctl_conf)
    return ordered
