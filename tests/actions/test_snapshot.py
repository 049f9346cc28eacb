"""minfree snapshot: capture, order of reads, and read-back equality with the live host."""

import json
import platform
import shutil
import tarfile
from pathlib import Path

import pytest

from minfree.actions.snapshot import MANIFEST, MANIFEST_FORMAT, capture
from minfree.sources.readers import (read_boot_settings, read_lowmem_reserve_ratio, read_netdevs,
                                     read_thp, read_version, read_vm_sysctls)
from minfree.sources.root import SystemRoot
from recording_root import RecordingRoot
from minfree.sources.specs import KERNEL_LOG, LOWMEM_RESERVE_RATIO

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"



@pytest.fixture
def captured_source(tmp_path):
    """A copy of the 6.18 fixture plus the files a capture must read first or never read."""
    src = tmp_path / "src"
    shutil.copytree(READERS / "6.18-live", src, symlinks=True)
    (src / "proc/zoneinfo").write_text("Node 0, zone      DMA\n  pages free     3840\n")
    for name in ("stat_refresh", "drop_caches", "compact_memory"):
        (src / "proc/sys/vm" / name).write_text("")
    (src / "var/log").mkdir(parents=True)
    (src / "var/log/dmesg").write_text("[    0.000000] Linux version 6.18.44\n")
    return src


def test_zoneinfo_first_lowmem_reserve_ratio_last_side_effect_files_never(tmp_path, captured_source):
    source = RecordingRoot(captured_source)
    capture(tmp_path / "out", source)
    reads = source.touched
    assert reads[0] == "proc/zoneinfo"
    assert reads.index(LOWMEM_RESERVE_RATIO.path) > reads.index("proc/zoneinfo")
    vm_reads = [r for r in reads if r.startswith("proc/sys/vm/")]
    assert vm_reads[-1] == LOWMEM_RESERVE_RATIO.path and vm_reads.count(LOWMEM_RESERVE_RATIO.path) == 1
    assert not {"proc/sys/vm/stat_refresh", "proc/sys/vm/drop_caches", "proc/sys/vm/compact_memory"} & set(reads)


def test_directory_capture_reads_back_through_the_same_readers(tmp_path, captured_source):
    result = capture(tmp_path / "out", SystemRoot(captured_source))
    source, copy = SystemRoot(captured_source), SystemRoot(tmp_path / "out")
    for reader in (read_version, read_vm_sysctls, read_thp, read_netdevs,
                   read_lowmem_reserve_ratio, read_boot_settings):
        assert reader(copy) == reader(source), reader.__name__
    assert copy.read_text(KERNEL_LOG.path) == "[    0.000000] Linux version 6.18.44\n"
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["format"] == MANIFEST_FORMAT and manifest["kernel"] == "6.18.44-fc-v669"
    assert manifest["files"][-1] == LOWMEM_RESERVE_RATIO.path and len(manifest["files"]) == result.files
    missing = {entry["path"] for entry in manifest["missing"]}
    assert "proc/buddyinfo" in missing and "sys/kernel/debug/extfrag/unusable_index" in missing


def test_refuses_non_empty_directory_and_existing_tarball(tmp_path, captured_source):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep me")
    with pytest.raises(FileExistsError):
        capture(tmp_path / "busy", SystemRoot(captured_source))
    assert (tmp_path / "busy" / "x").read_text() == "keep me"
    (tmp_path / "old.tar.gz").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        capture(tmp_path / "old.tar.gz", SystemRoot(captured_source))


def test_failed_tarball_capture_leaves_nothing(tmp_path, captured_source):
    def broken_log():
        raise RuntimeError("boom")

    source = SystemRoot(captured_source)
    source.is_live = True  # take the live kernel-log path
    with pytest.raises(RuntimeError):
        capture(tmp_path / "s.tar.gz", source, kernel_log=broken_log)
    assert list(tmp_path.glob("s.tar.gz*")) == []


@pytest.mark.live
def test_a_kernel_log_kept_as_kmsg_records_is_scanned(tmp_path):
    """Without dmesg the snapshot keeps raw /dev/kmsg records; scan reads them as they are."""
    from minfree.sources.logfiles import expand_paths
    from minfree.commands.scan import scan_inputs

    records = ("4,10,1500,-;asd: page allocation failure. order:1, mode:0x20\n SUBSYSTEM=net\n"
               "bad\n6,12,2000001,c;eth0: link up\n")
    out = tmp_path / "snap"
    capture(out, kernel_log=lambda: records)
    events = scan_inputs(expand_paths([str(out)])).events
    assert [(e.event.process, e.event.order, e.event.time) for e in events] == [("asd", 1, "0.001500")]


def _live_equal(copy: SystemRoot, live: SystemRoot) -> None:
    assert read_version(copy) == read_version(live)
    assert read_vm_sysctls(copy) == read_vm_sysctls(live)
    assert read_thp(copy) == read_thp(live)
    assert read_netdevs(copy) == read_netdevs(live)
    assert read_boot_settings(copy) == read_boot_settings(live)
    assert read_lowmem_reserve_ratio(copy) == read_lowmem_reserve_ratio(live)
    for rel in ("proc/version", "proc/cmdline", "sys/devices/system/cpu/online"):
        assert copy.read_text(rel) == live.read_text(rel)


@pytest.mark.live
@pytest.mark.parametrize("name", ["snap", "snap.tar.gz"])
def test_live_capture_reads_back_equal(tmp_path, name):
    result = capture(tmp_path / name)
    assert result.seconds < 5.0
    with SystemRoot(tmp_path / name) as copy:
        assert copy.is_archive == name.endswith(".tar.gz")
        _live_equal(copy, SystemRoot("/"))
        manifest = json.loads(copy.read_text(MANIFEST))
        assert manifest["kernel"] == platform.release() and manifest["source"] == "/"
        assert "proc/zoneinfo" in manifest["files"] and "proc/sys/vm/stat_refresh" not in manifest["files"]
        assert copy.read_text(KERNEL_LOG.path)
    if name.endswith(".tar.gz"):
        with tarfile.open(tmp_path / name) as archive:
            assert MANIFEST in archive.getnames()


def test_sosreport_kernel_log_is_captured_as_var_log_dmesg(tmp_path):
    source = tmp_path / "sos"
    shutil.copytree(READERS / "rhel6-2.6.32-sosreport", source, symlinks=True)
    (source / "sos_commands/kernel/dmesg").write_text("swapper: page allocation failure. order:1, mode:0x20\n")
    capture(tmp_path / "out", SystemRoot(source))
    copy = SystemRoot(tmp_path / "out")
    assert copy.read_text(KERNEL_LOG.path) == "swapper: page allocation failure. order:1, mode:0x20\n"
    assert read_netdevs(copy) == read_netdevs(SystemRoot(source))
    assert read_thp(copy).directory == "sys/kernel/mm/redhat_transparent_hugepage"
    assert json.loads(copy.read_text(MANIFEST))["source_is_sosreport"] is True



@pytest.mark.live
def test_the_capture_holds_every_file_load_system_reads(tmp_path):
    """One registry: what doctor reads on this host is exactly what a snapshot carries."""
    from minfree.sources.system import load_system

    live = RecordingRoot("/")
    load_system(live)
    read = set(live.found)
    result = capture(tmp_path / "snap", SystemRoot("/"))
    files = set(json.loads((tmp_path / "snap" / MANIFEST).read_text())["files"])
    assert "proc/zoneinfo" in read and read <= files
    assert result.files == len(files)
