"""doctor on captures a shell took on real 5.10 and 6.1 kernels right after real allocation
failures (../shared/kernel-failures): high-order depletion is seen from one instant, and the
same hosts at boot or after memory came back stay calm."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from minfree.cli import main

from kernel_failures import kernel_failure_cases, kernel_failure_root

CASES = kernel_failure_cases()
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/kernel-failures is not beside the checkout")


def _steps(kinds: tuple[str, ...]) -> list[tuple[Path, str]]:
    found = []
    for case in CASES:
        for scenario in json.loads((case / "case.json").read_text())["scenarios"]:
            if scenario["kind"] in kinds and scenario["captured"]:
                found.append((case, Path(scenario["dir"]).name))
    return found


FRAGMENTED = _steps(("fragmentation", "silent-fragmentation"))
RELEASED = _steps(("release",))


def _doctor(root: Path, capsys) -> tuple[int, dict]:
    code = main(["doctor", "--root", str(root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _finding(report: dict, finding_id: str) -> dict | None:
    return next((f for f in report["findings"] if f["id"] == finding_id), None)


def test_there_are_captures_of_each_kind() -> None:
    assert len(FRAGMENTED) == 4 * len(CASES) and len(RELEASED) == 4 * len(CASES)


@pytest.mark.parametrize("case,step", FRAGMENTED, ids=[f"{c.name}-{s}" for c, s in FRAGMENTED])
def test_a_fragmented_host_is_seen_from_one_instant(tmp_path: Path, capsys, case: Path, step: str) -> None:
    code, report = _doctor(kernel_failure_root(tmp_path, case, step), capsys)
    assert report["status"] in ("WARNING", "CRITICAL") and code in (1, 2)
    finding = _finding(report, "high_order_depletion")
    assert finding is not None, report["findings"]
    evidence = finding["evidence"]
    depth = report["atomic_depth"]
    # The finding is the depth table's own verdict: order-0 memory is plentiful, the
    # high orders hold less than the reserve, and the numbers are the same in both places.
    assert not depth["exhausted"] and depth["depleted_orders"]
    assert evidence["order0_pages"] == depth["order0_pages"] >= depth["reserve_pages"]
    for order in depth["depleted_orders"]:
        row = depth["orders"][order]
        assert row["pages"] < depth["reserve_pages"]
        assert evidence["orders"][str(order)]["requests"] == row["requests"] == sum(row["by_zone"].values())
    worst = depth["orders"][depth["depleted_orders"][0]]
    assert f"served from {worst['next_zone'] or 'no zone'}" in finding["explanation"]
    assert "relieve --compact" in finding["fix"]
    # Named only where the kernel has it (5.9+): both kernels here do.
    assert "compaction_proactiveness" in finding["fix"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_same_hosts_at_boot_raise_no_warning(tmp_path: Path, capsys, case: Path) -> None:
    code, report = _doctor(kernel_failure_root(tmp_path, case, "boot"), capsys)
    assert code == 0 and report["status"] == "OK"
    assert [f["id"] for f in report["findings"] if f["severity"] != "info"] == []
    assert report["atomic_depth"]["depleted_orders"] == [] and not report["atomic_depth"]["exhausted"]


@pytest.mark.parametrize("case,step", RELEASED, ids=[f"{c.name}-{s}" for c, s in RELEASED])
def test_after_memory_comes_back_the_finding_goes(tmp_path: Path, capsys, case: Path, step: str) -> None:
    _, report = _doctor(kernel_failure_root(tmp_path, case, step), capsys)
    assert _finding(report, "high_order_depletion") is None
    assert _finding(report, "atomic_headroom_low") is None


def test_the_depth_is_in_the_zones_table(tmp_path: Path, capsys) -> None:
    case = next(c for c in CASES if c.name.startswith("6.1.") and c.name.endswith("2g"))
    main(["doctor", "--root", str(kernel_failure_root(tmp_path, case, "06-f1"))])
    out = capsys.readouterr().out
    dma32 = next(line for line in out.splitlines() if line.startswith("0/DMA32"))
    # buddyinfo DMA32 at that instant: 17 1 3 5 1 3 1 3 3 7 blocks of orders 1..10 (by
    # migratetype in pagetypeinfo): 4983 order-1 pieces, 2483 order-2, 1241 order-3.
    assert dma32.split()[-3:] == ["4983", "2483", "1241"]


def _add_nic(root: Path, name: str, mtu: int) -> None:
    """An interface as /sys shows a physical NIC: mtu, operstate and a device directory."""
    nic = root / "sys" / "class" / "net" / name
    (nic / "device").mkdir(parents=True)
    (nic / "mtu").write_text(f"{mtu}\n")
    (nic / "operstate").write_text("up\n")


def test_a_nic_that_needs_the_depleted_order_makes_it_critical(tmp_path: Path, capsys) -> None:
    case = next(c for c in CASES if c.name.startswith("6.1.") and c.name.endswith("2g"))
    root = kernel_failure_root(tmp_path, case, "06-f1")
    _add_nic(root, "eth0", 9000)   # a 9000-byte frame needs a 16 KiB (order-2) receive buffer
    code, report = _doctor(root, capsys)
    finding = _finding(report, "high_order_depletion")
    assert code == 2 and finding["severity"] == "critical"
    assert finding["evidence"]["needed_by"] == {"2": ["NIC eth0 (MTU 9000) receive buffers"]}
    assert "Needed here: order 2: NIC eth0 (MTU 9000) receive buffers." in finding["explanation"]


def test_slab_caches_name_the_orders_they_need_but_stay_a_warning(tmp_path: Path, capsys) -> None:
    case = next(c for c in CASES if c.name.startswith("6.1.") and c.name.endswith("2g"))
    root = kernel_failure_root(tmp_path, case, "06-f1")
    # Lines of this VM's /proc/slabinfo (6.18): task_struct's 4224-byte objects need order 1.
    (root / "proc" / "slabinfo").write_text(
        "slabinfo - version: 2.1\n"
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
        "kvm_vcpu               0      0  51488    1   16 : tunables    0    0    0 : slabdata      0      0      0\n"
        "task_struct          120    147   4224    7    8 : tunables    0    0    0 : slabdata     21     21      0\n"
        "kmalloc-8k            32     32   8192    4    8 : tunables    0    0    0 : slabdata      8      8      0\n")
    code, report = _doctor(root, capsys)
    finding = _finding(report, "high_order_depletion")
    assert code == 1 and finding["severity"] == "warning"   # slab growth can usually sleep
    assert finding["evidence"]["needed_by"] == {
        "1": ["slab caches in use whose smallest slab is order 1: task_struct, kmalloc-8k"]}


def test_exhaustion_is_its_own_finding_with_the_time_left(tmp_path: Path) -> None:
    from minfree.analysis.doctor import build_report
    from minfree.analysis.rates import Activity
    from minfree.sources.root import SystemRoot
    from minfree.sources.system import load_system

    case = next(c for c in CASES if c.name.startswith("6.1.") and c.name.endswith("2g"))
    root = kernel_failure_root(tmp_path, case, "boot")
    zoneinfo = root / "proc" / "zoneinfo"
    # The boot capture with DMA32's free pages set just above its min watermark (11176): the
    # buddy lists still hold plenty, but the order-0 test is what NR_FREE_PAGES decides.
    text = zoneinfo.read_text()
    dma32 = text.index("zone    DMA32")
    zoneinfo.write_text(text[:dma32] + text[dma32:].replace("485716", "12000", 2))
    with SystemRoot(root) as system:
        state = load_system(system)
    dma32_zone = next(z for z in state.zones if z.zone == "DMA32")
    assert dma32_zone.free == 12000
    activity = Activity(1.0, {"pgalloc": 2000.0}, None, None, None)
    report = build_report(state, activity, None, 1.0)
    finding = next(f for f in report.findings if f.id == "atomic_headroom_low")
    depth = report.depletion
    assert depth.exhausted and depth.depleted == []
    assert finding.evidence["order0_pages"] == depth.order0_pages < depth.reserve_pages
    assert finding.evidence["seconds_at_allocation_rate"] == round(depth.order0_pages / 2000.0, 3)


@pytest.mark.parametrize("release,has", [("2.6.32-5-amd64", ()), ("2.6.32-754.el6.x86_64", ("relieve --compact",)),
                                         ("4.19.0-27-amd64", ("relieve --compact",)),
                                         ("6.1.0-57-amd64", ("relieve --compact", "compaction_proactiveness"))])
def test_the_fix_names_only_knobs_this_kernel_has(release: str, has: tuple[str, ...]) -> None:
    from types import SimpleNamespace

    from minfree.analysis.findings import _compaction_fix
    from minfree.model.kversion import parse_release

    from minfree.model.rules import KernelRules

    kernel = parse_release(release)
    ctx = SimpleNamespace(state=SimpleNamespace(kernel=kernel, sysctls=None, rules=KernelRules.for_version(kernel)))
    fix = _compaction_fix(ctx)
    for knob in ("relieve --compact", "compaction_proactiveness", "extfrag_threshold"):
        assert (knob in fix) == (knob in has or (knob == "extfrag_threshold" and bool(has)))
    assert "minfree tune" in fix
