"""Kernel addresses to function names, from ``/proc/kallsyms`` (``address type name
[module]`` per line, kernel/kallsyms.c ``s_show``; addresses read as zeros unless the reader
has CAP_SYSLOG and ``kptr_restrict`` allows)."""
from __future__ import annotations

import bisect

from minfree.model.record import record

__all__ = ["Symbols", "parse_kallsyms"]


@record
class Symbols:
    """Text symbols sorted by address."""

    addresses: tuple[int, ...]
    names: tuple[str, ...]

    def name(self, address: int) -> str:
        """The function holding ``address`` (the nearest symbol at or below it), else hex."""
        i = bisect.bisect_right(self.addresses, address) - 1
        return self.names[i] if i >= 0 else hex(address)


def parse_kallsyms(text: str) -> Symbols:
    """Text symbols (types t, T, w, W) of a kallsyms dump; zeroed addresses (no privilege)
    and malformed lines are left out.

    Real sample (this machine, Linux 6.18, four lines of 122101):

    >>> syms = parse_kallsyms('''ffffffff814cae00 T __alloc_frozen_pages_noprof
    ... ffffffff8163bb10 t only_alloc_fresh_hugetlb_folio.isra.0
    ... ffffffff81ef2340 D some_data
    ... 0000000000000000 T hidden
    ... ffffffffc0000700 t bpf_prog_6deef7357e7b4530_minfree_trace\t[bpf]
    ... ''')
    >>> syms.name(0xffffffff8163bbbb), syms.name(0xffffffffc0000746), syms.name(0x10)
    ('only_alloc_fresh_hugetlb_folio.isra.0', 'bpf_prog_6deef7357e7b4530_minfree_trace', '0x10')
    """
    pairs = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] not in ("t", "T", "w", "W"):
            continue
        try:
            address = int(parts[0], 16)
        except ValueError:
            continue
        if address:
            pairs.append((address, parts[2]))
    pairs.sort()
    return Symbols(tuple(a for a, _ in pairs), tuple(n for _, n in pairs))
