"""doctor on captured roots: the same code path as the live host (`--root DIR`)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from minfree.cli import main
from minfree.commands.doctor import diagnose
from minfree.render.doctor_json import to_json
from minfree.sources.root import SystemRoot

from doctor_roots import CORPUS, fixture_root  # noqa: F401 (a pytest fixture)


def doctor(root: Path) -> dict:
    with SystemRoot(root) as system:
        return to_json(diagnose(system, window=0))


def ids(report: dict) -> set[str]:
    return {f["id"] for f in report["findings"]}


def set_sysctl(root: Path, name: str, value: str) -> None:
    (root / "proc" / "sys" / "vm" / name).write_text(value + "\n")


def test_healthy_capture_is_ok_and_the_model_matches_every_zone(fixture_root: Path, capsys) -> None:
    report = doctor(fixture_root)
    assert report["status"] == "OK" and report["findings"] == []
    assert report["kernel"].startswith("6.18.44")
    assert report["min_free_kbytes"] == {**report["min_free_kbytes"], "current": 67584,
                                         "kernel_default": 67584, "rule": "thp"}
    for zone in report["zones"]:
        predicted = zone["predicted"]
        shown = {k: zone[k] for k in ("min", "low", "high", "promo")}
        assert {k: predicted[k] for k in shown} == shown, zone["zone"]
        assert predicted["protection"] == zone["protection"], zone["zone"]
    assert [a["ok"] for a in report["atomic"]] == [True, True, True, True]
    assert main(["doctor", "--root", str(fixture_root), "--window", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "OK"


def test_indices_are_the_kernels_own_when_debugfs_was_captured(fixture_root: Path) -> None:
    with_debugfs = doctor(fixture_root)["zones"]
    assert {z["indices_from"] for z in with_debugfs if z["managed"]} == {"debugfs"}
    assert with_debugfs[0]["unusable_index"][9:] == [0.066, 0.2]   # the captured debugfs DMA row
    shutil.rmtree(fixture_root / "sys" / "kernel" / "debug")
    computed = doctor(fixture_root)["zones"]
    assert {z["indices_from"] for z in computed} == {"buddyinfo"}
    assert computed[0]["unusable_index"] == with_debugfs[0]["unusable_index"]   # the same formula


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not beside the checkout")
def test_failures_in_the_snapshot_log_make_it_critical(fixture_root: Path, capsys) -> None:
    log = fixture_root / "var" / "log"
    log.mkdir(parents=True)
    shutil.copy(CORPUS / "006-ceph-devel-5.4.26-kworker-virtio_net-gfp_atomic.log", log / "dmesg")
    report = doctor(fixture_root)
    finding = next(f for f in report["findings"] if f["id"] == "recent_allocation_failures")
    assert finding["severity"] == "critical" and finding["evidence"]["atomic"] == 1
    assert report["status"] == "CRITICAL"
    assert main(["doctor", "--root", str(fixture_root), "--window", "0"]) == 2
    assert "page allocation failure report" in capsys.readouterr().out


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not beside the checkout")
def test_block_io_failures_are_not_called_dropped_packets(fixture_root: Path) -> None:
    """Corpus 010 (linux-mm): GFP_ATOMIC failures of kworkers mapping SCSI requests for DMA
    (block I/O path, smartpqi): no packet or connection is involved."""
    log = fixture_root / "var" / "log"
    log.mkdir(parents=True)
    shutil.copy(CORPUS / "010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log", log / "dmesg")
    finding = next(f for f in doctor(fixture_root)["findings"] if f["id"] == "recent_allocation_failures")
    assert finding["evidence"]["atomic"] >= 1 and "block" in finding["evidence"]["origins"]
    assert "dropped packets" not in finding["explanation"] and "failed I/O" in finding["explanation"]


def test_risky_settings_are_each_reported(fixture_root: Path) -> None:
    set_sysctl(fixture_root, "vfs_cache_pressure", "0")
    set_sysctl(fixture_root, "swappiness", "0")
    thp = fixture_root / "sys" / "kernel" / "mm" / "transparent_hugepage" / "defrag"
    thp.write_text("[always] defer defer+madvise madvise never\n")
    (fixture_root / "etc" / "sysctl.d" / "60-db.conf").write_text("vm.dirty_ratio = 5\n")
    report = doctor(fixture_root)
    assert {"vfs_cache_pressure_zero", "swappiness_zero", "thp_defrag_always",
            "runtime_differs_from_boot_config"} <= ids(report)
    differs = next(f for f in report["findings"] if f["id"] == "runtime_differs_from_boot_config")
    assert differs["evidence"]["boot"] == 5 and differs["evidence"]["runtime"] == 20
    assert report["status"] == "WARNING"


def test_min_free_far_above_memory_share_is_critical(fixture_root: Path) -> None:
    set_sysctl(fixture_root, "min_free_kbytes", "2000000")
    report = doctor(fixture_root)
    finding = next(f for f in report["findings"] if f["id"] == "min_free_too_high")
    assert finding["severity"] == "critical" and finding["evidence"]["share_of_memory"] > 0.10
    # zoneinfo still shows the watermarks of 67584: the model says so instead of hiding it
    assert "watermarks_stale" in ids(report)


def test_min_free_below_default_is_a_warning(fixture_root: Path) -> None:
    set_sysctl(fixture_root, "min_free_kbytes", "16384")
    finding = next(f for f in doctor(fixture_root)["findings"] if f["id"] == "min_free_below_default")
    assert finding["evidence"] == {**finding["evidence"], "current_kb": 16384, "kernel_default_kb": 67584}


def test_jumbo_frames_without_high_order_blocks(fixture_root: Path) -> None:
    (fixture_root / "sys" / "class" / "net" / "eth0" / "mtu").write_text("9000\n")
    (fixture_root / "sys" / "class" / "net" / "eth0" / "operstate").write_text("up\n")
    (fixture_root / "proc" / "pagetypeinfo").unlink()   # as a non-root reader: buddyinfo only
    buddy = fixture_root / "proc" / "buddyinfo"
    # every free page of DMA32 and Normal in order-0/1 blocks: plenty free, none contiguous
    rows = []
    for line in buddy.read_text().splitlines():
        head, counts = re.match(r"(Node\s+\d+, zone\s+\S+)\s+(.*)", line).groups()
        numbers = [int(n) for n in counts.split()]
        if "DMA " not in head + " ":
            pages = sum(n << o for o, n in enumerate(numbers))
            numbers = [pages % 2, pages // 2] + [0] * (len(numbers) - 2)
        rows.append(f"{head} " + " ".join(f"{n:6d}" for n in numbers))
    buddy.write_text("\n".join(rows) + "\n")
    report = doctor(fixture_root)
    assert {"scarce_high_order_blocks", "atomic_would_fail_now"} <= ids(report)
    atomic = {a["order"]: a for a in report["atomic"]}
    assert atomic[0]["ok"] and atomic[1]["ok"] and not atomic[2]["ok"]
    jumbo = next(f for f in report["findings"] if f["id"] == "scarce_high_order_blocks")
    assert jumbo["evidence"]["order"] == 2 and jumbo["severity"] == "critical"


def test_missing_root_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["doctor", "--root", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("minfree: error:")


def test_empty_root_is_unknown(tmp_path: Path) -> None:
    assert main(["doctor", "--root", str(tmp_path), "--window", "0", "--json"]) == 3


def test_a_snapshot_has_no_failure_count(fixture_root) -> None:
    with SystemRoot(fixture_root) as system:
        failed = to_json(diagnose(system, window=1.0))["failed_allocations"]
    assert failed["total"] is None and failed["unavailable"].startswith("a snapshot")
