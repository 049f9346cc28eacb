"""Transparent hugepage settings from /sys/kernel/mm/transparent_hugepage.

RHEL6 kernels use /sys/kernel/mm/redhat_transparent_hugepage instead.
Choice files print every option with the active one in brackets
(``always [madvise] never``). ``khugepaged/defrag`` printed ``[yes] no`` on
early kernels (2.6.38-3.x, RHEL6) and ``1``/``0`` later. Per-size mTHP
``hugepages-<size>kB/enabled`` files exist from 6.8; the PMD size one feeds the
khugepaged min_free_kbytes rule in 6.12+ (kernel-memory.md §1.3).
"""

from __future__ import annotations


from minfree.model.record import field, record

KHUGEPAGED_NUMBERS = (
    "pages_to_scan", "scan_sleep_millisecs", "alloc_sleep_millisecs", "max_ptes_none",
    "max_ptes_swap", "max_ptes_shared", "full_scans", "pages_collapsed",
)

@record
class ThpSettings:
    """THP settings under ``directory`` (transparent_hugepage, or RHEL6's redhat_transparent_hugepage):
    each choice file's active choice, khugepaged's defrag flag and numbers, ``enabled`` per mTHP size (kB)."""

    directory: str
    enabled: str | None
    defrag: str | None
    shmem_enabled: str | None = None
    khugepaged_defrag: bool | None = None
    khugepaged: dict[str, int] = field(default_factory=dict)
    per_size_enabled: dict[int, str] = field(default_factory=dict)

def parse_thp_choice(text: str) -> str | None:
    """The [bracketed] active choice of a THP sysfs file.

    Samples from this machine (6.18 ``enabled``, ``defrag``) and RHEL6:

    >>> parse_thp_choice("always [madvise] never\\n"), parse_thp_choice("always defer defer+madvise [madvise] never")
    ('madvise', 'madvise')
    >>> parse_thp_choice("[always] madvise never\\n"), parse_thp_choice("always madvise never") is None
    ('always', True)
    """
    for word in text.split():
        if len(word) > 2 and word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None

def parse_khugepaged_flag(text: str) -> bool | None:
    """``khugepaged/defrag``: ``1``/``0`` (modern) or ``[yes] no`` (RHEL6, 3.x).

    >>> parse_khugepaged_flag("1\\n"), parse_khugepaged_flag("yes [no]\\n"), parse_khugepaged_flag("?")
    (True, False, None)
    """
    word = text.strip()
    choice = parse_thp_choice(word)
    if choice is not None:
        word = choice
    return {"1": True, "yes": True, "0": False, "no": False}.get(word)

def per_size_kb(name: str) -> int | None:
    """The size of a per-size mTHP directory (6.8+), in kB.

    >>> per_size_kb("hugepages-2048kB"), per_size_kb("khugepaged")
    (2048, None)
    """
    if name.startswith("hugepages-") and name.endswith("kB"):
        digits = name[len("hugepages-"):-2]
        return int(digits) if digits.isdecimal() else None
    return None
