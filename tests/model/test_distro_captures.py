"""The kernel model against real Debian kernels booted in QEMU (bars 1-3 on shapes this VM lacks).

Each directory under tests/fixtures/distro/ is one boot of a packaged kernel (1, 2 or 4 NUMA
nodes, THP on or off, a populated Movable zone), made by tests/fixtures/distro/capture.sh and
described by its capture.json. The guest's /init read, in this order: version, zoneinfo,
buddyinfo, pagetypeinfo, extfrag/unusable_index, extfrag/extfrag_index, buddyinfo again
(``proc/buddyinfo.after-extfrag``), meminfo, vmstat, node meminfo, the vm sysctls, THP, cmdline,
and last lowmem_reserve_ratio (reading it recomputes protection, reference §10). Then it wrote
watermark_scale_factor with its own value (``proc/zoneinfo.after-recompute``) and
min_free_kbytes=131072 (``proc/zoneinfo.after-mfk-131072``).

Kernels: Debian 12 offers 6.1 and 6.12 only (5.10 is a Debian 11 kernel, not in these sources).
Boot-time watermarks and protection are computed before the initrd and init sections are freed,
so they are stale (every capture here: 8 to 132 pages); after a recompute the model is exact.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from minfree.model import protection, watermarks
from minfree.model.fragmentation import extfrag_index, unusable_index
from minfree.prediction import default_min_free, predict_zones
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.proc.root import SystemRoot
from minfree.proc.zoneinfo import parse_zoneinfo
from minfree.system import SystemState, load_system

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "distro"
CAPTURES = sorted(p for p in FIXTURES.iterdir() if (p / "capture.json").is_file())
WRITTEN_MIN_FREE_KBYTES = 131072
# Boot-time watermarks come from the managed counts before the initrd, the decrypted bss and the
# init sections are freed (7.9-8.8 MB here: the "Freeing ... memory: NK" lines of dmesg.txt), and
# that memory goes back to particular zones (the initrd sits at the top of the last node).
# Seen: 8-9 pages on one node with 2 GiB, up to 58 pages on 2 nodes, up to 132 on 4 nodes.
_FREED = re.compile(r"Freeing .* memory: (\d+)K$", re.M)

# The boot-time default min_free_kbytes the model cannot reproduce from later readings,
# (predicted, shown) in kB. Both come from sums taken at hugepage_init() (subsys_initcall),
# before the ~1970 pages above are freed:
# * THP off, 6.1+: set_recommended_min_free_kbytes() re-runs calculate_min_free_kbytes()
#   (mm/khugepaged.c 6.1, 6.12), i.e. int_sqrt(16 * Σ(managed - high) kB); the model takes the
#   square root of Σ managed as zoneinfo shows it later, without subtracting the highs.
# * THP on with the 5 % cap binding (4 nodes, 2 GiB): nr_free_buffer_pages() / 20 of the same
#   earlier, smaller managed counts.
BOOT_MANAGED_DEFAULT_MISMATCH: dict[str, tuple[int, int]] = {
    "6.1.0-56-amd64-n1-nothp-2g": (5674, 5647),
    "6.1.0-56-amd64-n4-nothp-2g": (5676, 5650),
    "6.1.0-56-amd64-n4-thp-2g": (100224, 99776),
    "6.12.117+deb12-amd64-n1-nothp-2g": (5684, 5659),
    "6.12.117+deb12-amd64-n4-nothp-2g": (5686, 5661),
    "6.12.117+deb12-amd64-n4-thp-2g": (100572, 100180),
}


def capture_info(capture: Path) -> dict:
    return json.loads((capture / "capture.json").read_text())


def load_stage(capture: Path, stage: str) -> SystemState:
    """The capture as read at boot, or with zoneinfo swapped for a later reading."""
    state = load_system(SystemRoot(capture))
    if stage == "boot":
        return state
    zones = parse_zoneinfo((capture / f"proc/zoneinfo.{stage}").read_text())
    return dataclasses.replace(state, zones=zones)


def mismatches(state: SystemState, min_free_kbytes: int | None = None) -> tuple[list[str], int]:
    """Every zone field the model gets wrong, and the largest difference in pages."""
    predictions = predict_zones(state, min_free_kbytes=min_free_kbytes)
    assert len(predictions) == len(state.zones) > 0
    problems: list[str] = []
    worst = 0
    for predicted, shown in zip(predictions, state.zones):
        assert (predicted.node, predicted.zone) == (shown.node, shown.zone)
        what = f"node {shown.node} {shown.zone} (managed {shown.managed})"
        for cmp in (watermarks.compare(predicted.watermarks, shown.watermarks()),
                    protection.compare(predicted.protection, shown.protection or ())):
            if not cmp.exact:
                problems.append(cmp.explain(what))
                worst = max(worst, cmp.max_abs_delta)
    return problems, worst


def test_captures_present_and_cover_the_shapes():
    shapes = {capture_info(c)["shape"] for c in CAPTURES}
    releases = {capture_info(c)["release"] for c in CAPTURES}
    assert len(releases) >= 2, releases
    assert {"n1-thp-2g", "n1-nothp-2g", "n2-thp-2g", "n4-thp-2g", "n1-movable256m-2g"} <= shapes


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_capture_reads_like_a_live_root(capture):
    state = load_system(SystemRoot(capture))
    info = capture_info(capture)
    assert state.release == info["release"]
    assert state.sysctls is not None and state.sysctls.min_free_kbytes is not None
    assert state.lowmem_reserve_ratio is not None
    assert state.unusable_index and state.extfrag_index and state.buddy and state.pagetypes
    assert state.numa is not None and len(state.numa.online) == int(info["shape"][1])
    assert state.thp_enabled is ("nothp" not in info["shape"])
    rules = state.rules
    assert rules is not None
    assert all((z.promo is not None) == rules.zoneinfo_prints_promo for z in state.zones)
    assert all((z.boost is not None) == rules.zoneinfo_prints_boost for z in state.zones)
    if "movable" in info["shape"]:
        assert any(z.zone == "Movable" and z.managed for z in state.zones)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("stage, min_free_kbytes",
                         [("after-recompute", None), ("after-mfk-131072", WRITTEN_MIN_FREE_KBYTES)])
def test_recomputed_watermarks_and_protection_are_exact(capture, stage, min_free_kbytes):
    problems, _ = mismatches(load_stage(capture, stage), min_free_kbytes)
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_written_min_free_kbytes_is_kept(capture):
    shown = (capture / "proc/sys/vm/min_free_kbytes.after-mfk-131072").read_text()
    assert int(shown) == WRITTEN_MIN_FREE_KBYTES


def boot_stale_limit_pages(state: SystemState, capture: Path) -> int:
    """How far memory freed after boot can move a zone's marks: all of it landing in one zone
    raises that zone's share of pages_min by pages_min * freed / lowmem, and high = min + 2 *
    share/4 moves 1.5 times as much; a protection entry moves by at most freed / smallest ratio."""
    freed_pages = sum(int(kb) for kb in _FREED.findall((capture / "dmesg.txt").read_text())) // 4
    assert freed_pages > 0, "no Freeing lines in dmesg.txt"
    pages_min = state.sysctls.min_free_kbytes // 4
    lowmem = sum(z.managed or 0 for z in state.zones if z.zone in ("DMA", "DMA32", "Normal", "Movable"))
    ratio = min(r for r in state.lowmem_reserve_ratio if r > 0)
    return max(3 * pages_min * freed_pages // (2 * lowmem), freed_pages // ratio) + 2


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_boot_watermarks_are_stale_only_by_memory_freed_after_boot(capture):
    state = load_stage(capture, "boot")
    problems, worst = mismatches(state)
    limit = boot_stale_limit_pages(state, capture)
    assert worst <= limit, f"stale by {worst} > {limit} pages: " + "; ".join(problems)


def _default_param(capture: Path):
    known = BOOT_MANAGED_DEFAULT_MISMATCH.get(capture.name)
    if known is None:
        return pytest.param(capture, id=capture.name)
    predicted, shown = known
    reason = (f"model predicts {predicted} kB, the kernel set {shown} kB at hugepage_init() from "
              "managed pages counted before initrd/initmem were freed"
              + (" and with the high watermarks subtracted (THP off, 6.1+)" if predicted < 10000 else
                 " (THP 5% cap)"))
    return pytest.param(capture, id=capture.name, marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("capture", [_default_param(c) for c in CAPTURES])
def test_default_min_free_kbytes(capture):
    state = load_system(SystemRoot(capture))
    result = default_min_free(state)
    assert result is not None
    assert result.rule.startswith("thp" if state.thp_enabled else "sqrt"), result.explanation
    assert result.kbytes == state.sysctls.min_free_kbytes, result.explanation


@pytest.mark.parametrize("name", sorted(BOOT_MANAGED_DEFAULT_MISMATCH))
def test_default_min_free_mismatches_are_as_recorded(name):
    """The numbers in the xfail reasons are what the model and the kernel say today."""
    state = load_system(SystemRoot(FIXTURES / name))
    result = default_min_free(state)
    assert result is not None
    assert (result.kbytes, state.sysctls.min_free_kbytes) == BOOT_MANAGED_DEFAULT_MISMATCH[name]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_fragmentation_indices_match_debugfs(capture):
    """Rows whose buddyinfo line was identical before and after the two debugfs reads were
    stable while the indices were computed: those must match exactly. Rows that moved are
    not compared."""
    state = load_system(SystemRoot(capture))
    before = {(r.node, r.zone): r.counts for r in state.buddy}
    after_text = (capture / "proc/buddyinfo.after-extfrag").read_text()
    after = {(r.node, r.zone): r.counts for r in parse_buddyinfo(after_text)}
    compared = 0
    for rows, index in ((state.unusable_index, unusable_index), (state.extfrag_index, extfrag_index)):
        assert rows
        for row in rows:
            counts = before[(row.node, row.zone)]
            if after.get((row.node, row.zone)) != counts:
                continue
            assert tuple(index(counts, order) for order in range(len(counts))) == row.values, \
                (index.__name__, row)
            compared += 1
    assert compared, "every zone's free lists moved between the reads"
