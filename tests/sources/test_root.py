"""SystemRoot: directories, tarballs, sosreports, symlink convention, gaps."""

import os
import random
import tarfile
from pathlib import Path

import pytest

from minfree.sources.root import LINK_SUFFIX, SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_reads_file_and_records_missing_gap():
    root = SystemRoot(READERS / "6.18-live")
    assert root.read_text("proc/version").startswith("Linux version 6.18.44")
    assert root.read_text("proc/zoneinfo_nope") is None
    assert root.gaps == [("proc/zoneinfo_nope", "missing")]
    assert not root.is_live and not root.is_sosreport and not root.is_archive


def test_optional_read_records_no_gap():
    root = SystemRoot(READERS / "6.18-live")
    assert root.read_text("proc/sys/vm/extra_free_kbytes", optional=True) is None
    assert root.gaps == []


def test_paths_cannot_escape_root():
    root = SystemRoot(READERS / "6.18-live")
    assert root.read_text("../../../../etc/passwd") is None
    assert root.read_text("/proc/version").startswith("Linux version")  # leading slash is relative
    assert root.gaps == [("../../../../etc/passwd", "invalid path")]


def test_directory_read_is_a_gap_not_an_error():
    root = SystemRoot(READERS / "6.18-live")
    assert root.read_text("proc") is None
    assert root.gaps == [("proc", "is a directory")]


def test_listdir_sorted_and_hides_link_suffix():
    root = SystemRoot(READERS / "6.18-live")
    assert root.listdir("sys/class/net") == ["eth0", "ifb0", "ifb1", "lo"]
    assert "device" in root.listdir("sys/class/net/eth0")
    assert root.listdir("nope") == [] and root.gaps == [("nope", "missing")]


def test_captured_symlink_convention():
    root = SystemRoot(READERS / "6.18-live")
    assert root.exists("sys/class/net/eth0/device")
    assert root.readlink("sys/class/net/eth0/device") == "../../../virtio2"
    assert root.readlink_name("sys/class/net/eth0/device/driver") == "virtio_net"
    assert not root.exists("sys/class/net/lo/device")
    assert root.readlink_name("sys/class/net/lo/device/driver") is None
    assert root.gaps == [("sys/class/net/lo/device/driver", "missing")]


def test_sosreport_detected_and_real_symlinks_followed():
    root = SystemRoot(READERS / "rhel6-2.6.32-sosreport")
    assert root.is_sosreport
    assert root.readlink_name("sys/class/net/eth0/device/driver") == "igb"
    assert root.read_text("proc/meminfo").startswith("MemTotal:")


def test_not_a_symlink_gap():
    root = SystemRoot(READERS / "6.18-live")
    assert root.readlink_name("proc/version") is None
    assert root.gaps == [("proc/version", "not a symlink")]


def test_read_first_keeps_one_gap():
    root = SystemRoot(READERS / "6.18-live")
    assert root.read_first("a/missing", "b/missing") is None
    assert root.gaps == [("a/missing", "missing")]
    assert root.read_first("a/missing", "proc/version")[0] == "proc/version"
    assert root.gaps == [("a/missing", "missing")]


def _tar(tmp_path: Path, top: str) -> Path:
    out = tmp_path / "capture.tar.gz"
    with tarfile.open(out, "w:gz") as archive:
        base = READERS / "6.18-live"
        for path in sorted(base.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=f"{top}{path.relative_to(base)}")
    return out


@pytest.mark.parametrize("top", ["", "./", "sosreport-db1-2024/"])
def test_tarball_root(tmp_path, top):
    with SystemRoot(_tar(tmp_path, top)) as root:
        assert root.is_archive
        assert root.read_text("proc/version").startswith("Linux version 6.18.44")
        assert root.listdir("sys/class/net") == ["eth0", "ifb0", "ifb1", "lo"]
        assert root.readlink_name("sys/class/net/eth0/device/driver") == "virtio_net"
        assert root.read_text("proc") is None and root.read_text("nope") is None
        assert root.gaps == [("proc", "is a directory"), ("nope", "missing")]


def test_tarball_real_symlink_member(tmp_path):
    out = tmp_path / "links.tar"
    with tarfile.open(out, "w") as archive:
        data = tarfile.TarInfo("proc/version")
        payload = b"Linux version 5.10.0-28-amd64 (x) #1\n"
        data.size = len(payload)
        import io
        archive.addfile(data, io.BytesIO(payload))
        link = tarfile.TarInfo("sys/class/net/eth0/device/driver")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../../bus/pci/drivers/ixgbe"
        archive.addfile(link)
        alias = tarfile.TarInfo("proc/version_alias")
        alias.type, alias.linkname = tarfile.SYMTYPE, "version"
        archive.addfile(alias)
    with SystemRoot(out) as root:
        assert root.readlink_name("sys/class/net/eth0/device/driver") == "ixgbe"
        assert root.read_text("proc/version_alias") == payload.decode()


def test_garbage_bytes_decode_without_error(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_bytes(b"MemTotal: \xff\xfe 12 kB\n")
    assert "\ufffd" in SystemRoot(tmp_path).read_text("proc/meminfo")


def test_link_suffix_is_documented_convention():
    assert LINK_SUFFIX == ".readlink"


@pytest.mark.live
def test_live_root():
    root = SystemRoot("/")
    assert root.is_live and not root.is_archive
    assert root.read_text("proc/meminfo").startswith("MemTotal:")
    assert "lo" in root.listdir("sys/class/net")
    if os.path.exists("/sys/class/net/lo"):
        assert not root.exists("sys/class/net/lo/device")


def test_unreadable_archive_is_an_oserror(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(OSError):
        SystemRoot(bad)


def test_truncated_archive_is_an_oserror(tmp_path):
    import gzip

    full = _tar(tmp_path, "")
    cut = tmp_path / "cut.tar"
    raw = gzip.decompress(full.read_bytes())
    last = max(tarfile.open(full).getmembers(), key=lambda m: m.offset_data)
    cut.write_bytes(raw[: last.offset_data + 10])
    with pytest.raises(OSError, match="not a readable tar archive"):
        SystemRoot(cut)


def test_damaged_compressed_archive_is_an_oserror(tmp_path):
    """Bytes damaged inside the deflate stream: gzip's decompressor raises zlib.error (not an
    OSError) while the members are listed; the fuzz test met it (tests/commands/test_fuzz_inputs.py)."""
    import zlib

    packed = tmp_path / "capture.tar.gz"
    with tarfile.open(packed, "w:gz") as archive:
        archive.add(READERS / "6.18-live", arcname="snapshot")
    data = packed.read_bytes()
    damaged = tmp_path / "damaged.tar.gz"
    for at in range(10, len(data), 7):   # the first damage that zlib itself reports
        damaged.write_bytes(data[:at] + random.Random(at).randbytes(16) + data[at + 16:])
        try:
            with tarfile.open(damaged, "r:*") as archive:
                for _ in archive:
                    pass
        except zlib.error:
            break
        except (tarfile.TarError, OSError, EOFError):
            continue
    else:
        pytest.fail("no damage made zlib raise")
    with pytest.raises(OSError, match="not a readable tar archive"):
        SystemRoot(damaged)


# --- hostile captures: never block, never read more than the file can hold -----------------

def _capture(tmp_path):
    import shutil

    root = tmp_path / "capture"
    shutil.copytree(READERS / "6.18-live", root, symlinks=True)
    return root


def test_fifo_is_refused_without_blocking(tmp_path):
    root = _capture(tmp_path)
    (root / "proc" / "meminfo").unlink()
    os.mkfifo(root / "proc" / "meminfo")   # no writer: a blocking open would wait forever
    os.makedirs(root / "etc" / "sysctl.d", exist_ok=True)
    os.mkfifo(root / "etc" / "sysctl.d" / "50-pipe.conf")
    system = SystemRoot(root)
    assert system.read_text("proc/meminfo") is None
    assert system.read_text("etc/sysctl.d/50-pipe.conf") is None
    assert system.gaps == [("proc/meminfo", "not a regular file (a FIFO)"),
                           ("etc/sysctl.d/50-pipe.conf", "not a regular file (a FIFO)")]


def test_device_node_is_refused(tmp_path):
    root = _capture(tmp_path)
    (root / "proc" / "meminfo").unlink()
    os.mknod(root / "proc" / "meminfo", 0o600 | 0o020000, os.makedev(1, 5))   # /dev/zero
    system = SystemRoot(root)
    assert system.read_text("proc/meminfo") is None
    assert system.gaps == [("proc/meminfo", "not a regular file (a character device)")]


def test_link_out_of_the_capture_is_refused(tmp_path):
    root = _capture(tmp_path)
    (root / "proc" / "meminfo").unlink()
    (root / "proc" / "meminfo").symlink_to("/dev/zero")
    (root / "proc" / "vmstat").unlink()
    (root / "proc" / "vmstat").symlink_to("../../../../../../../etc/hostname")
    system = SystemRoot(root)
    assert system.read_text("proc/meminfo") is None and system.read_text("proc/vmstat") is None
    assert system.gaps == [("proc/meminfo", "a link that leads out of the capture"),
                           ("proc/vmstat", "a link that leads out of the capture")]


def test_file_larger_than_it_can_be_is_a_gap_and_not_read(tmp_path):
    root = _capture(tmp_path)
    with open(root / "proc" / "meminfo", "r+b") as handle:
        handle.truncate(2 << 30)   # sparse: 2 GiB that cost no disk
    system = SystemRoot(root)
    assert system.read_text("proc/meminfo") is None
    assert system.gaps == [("proc/meminfo", f"larger than this file can be ({1 << 20} bytes)")]


def test_file_growing_past_its_bound_while_read_stops_there(tmp_path):
    """A live /proc file has size 0: the bound is applied while reading."""
    from minfree.sources.root import _read_bounded

    fd = os.open("/dev/zero", os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="larger than this file can be"):
            _read_bounded(fd, 3 << 20)
    finally:
        os.close(fd)


def test_tar_member_larger_than_the_file_can_be_is_never_decompressed(tmp_path):
    import resource

    archive = tmp_path / "snap.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=9) as tar, open("/dev/zero", "rb") as zeros:
        info = tarfile.TarInfo("proc/meminfo")
        info.size = 256 << 20   # a small archive, a quarter-gigabyte member
        tar.addfile(info, zeros)
        pipe = tarfile.TarInfo("proc/vmstat")
        pipe.type = tarfile.FIFOTYPE
        tar.addfile(pipe)
    assert archive.stat().st_size < 1 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with SystemRoot(archive) as system:
        assert system.read_text("proc/meminfo") is None and system.read_text("proc/vmstat") is None
        assert system.gaps == [("proc/meminfo", f"larger than this file can be ({1 << 20} bytes)"),
                               ("proc/vmstat", "not a regular file")]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 << 10   # KiB: < 64 MiB


def test_archive_with_more_members_than_any_capture_is_refused(tmp_path, monkeypatch):
    import io

    from minfree.sources import root as root_module

    monkeypatch.setattr(root_module, "MAX_MEMBERS", 50)
    archive = tmp_path / "many.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for number in range(51):
            tar.addfile(tarfile.TarInfo(f"proc/f{number}"), io.BytesIO())
    with pytest.raises(OSError, match=r"not a readable tar archive \(more than 50 members"):
        SystemRoot(archive)


def test_reads_start_at_a_page_and_grow_only_while_full(tmp_path, monkeypatch):
    """A sysctl read allocates a kernel buffer of the size asked (proc_sys_call_handler): a
    live sysctl is read in page-sized reads; a large file in few, growing reads, whole."""
    import minfree.sources.root as root_module

    asked: list[int] = []
    real_read = os.read
    monkeypatch.setattr(root_module.os, "read", lambda fd, n: asked.append(n) or real_read(fd, n))
    assert SystemRoot("/").read_text("proc/sys/vm/min_free_kbytes").strip().isdecimal()
    assert asked and max(asked) <= 4096
    asked.clear()
    data = os.urandom(900 << 10)   # under the 1 MiB an unlisted file may hold
    (tmp_path / "big").write_bytes(data)
    assert SystemRoot(tmp_path).read_bytes("big") == data
    assert asked[:3] == [4096, 8192, 16384] and len(asked) < 16
