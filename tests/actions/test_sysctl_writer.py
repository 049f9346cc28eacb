"""The one /proc/sys/vm writer: names are plain files of proc/sys/vm, write-only knobs are never
read, writes never create a file nor follow a link; live, it reads what the kernel shows."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minfree.actions.sysctl import SysctlNameError, SysctlWriter

BAD_NAMES = ["", ".", "..", "../../../etc/passwd", "vm.../../etc/passwd", "sub/min_free_kbytes",
             "/etc/passwd", "min_free_kbytes\0", "min_free_kbytes\n", "-rf", "MIN_FREE_KBYTES"]


@pytest.fixture
def vm(tmp_path):
    """A fake root: proc/sys/vm with one value and the two write-only knobs, and a file outside."""
    vm = tmp_path / "proc/sys/vm"
    vm.mkdir(parents=True)
    (vm / "min_free_kbytes").write_text("67584\n")
    for knob in ("compact_memory", "drop_caches"):
        (vm / knob).write_text("")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0\n")
    return tmp_path


def test_reads_and_writes_a_value(vm):
    writer = SysctlWriter(vm)
    assert writer.read("min_free_kbytes") == 67584 and writer.read("vm.min_free_kbytes") == 67584
    writer.write("vm.min_free_kbytes", 5)
    assert (vm / "proc/sys/vm/min_free_kbytes").read_text() == "5\n" and writer.read("min_free_kbytes") == 5


@pytest.mark.parametrize("name", BAD_NAMES)
def test_refuses_names_that_are_not_plain_files_of_proc_sys_vm(vm, name):
    writer = SysctlWriter(vm)
    with pytest.raises(SysctlNameError):
        writer.write(name, 1)
    with pytest.raises(SysctlNameError):
        writer.read(name)
    assert (vm / "etc/passwd").read_text() == "root:x:0:0\n"


@pytest.mark.parametrize("knob", ["compact_memory", "drop_caches", "stat_refresh"])
def test_write_only_knobs_are_written_never_read(vm, knob):
    (vm / "proc/sys/vm" / knob).write_text("")
    writer = SysctlWriter(vm)
    with pytest.raises(SysctlNameError, match="write-only"):
        writer.read(knob)
    writer.write(knob, 1)
    assert (vm / "proc/sys/vm" / knob).read_text() == "1\n"


def test_never_creates_a_knob_nor_follows_a_planted_link(vm):
    writer = SysctlWriter(vm)
    with pytest.raises(FileNotFoundError):
        writer.write("no_such_knob", 1)
    assert not (vm / "proc/sys/vm/no_such_knob").exists()
    os.symlink(vm / "etc/passwd", vm / "proc/sys/vm/swappiness")
    with pytest.raises(OSError):
        writer.write("swappiness", 0)
    assert (vm / "etc/passwd").read_text() == "root:x:0:0\n"


def test_a_value_that_is_not_one_integer_is_an_error(vm):
    (vm / "proc/sys/vm/min_free_kbytes").write_text("lots\n")
    with pytest.raises(ValueError, match="not one integer"):
        SysctlWriter(vm).read("min_free_kbytes")


@pytest.mark.live
def test_live_reads_what_the_kernel_shows():
    writer = SysctlWriter("/")
    for name in ("min_free_kbytes", "watermark_scale_factor"):
        assert writer.read(name) == int(Path("/proc/sys/vm", name).read_text())
    with pytest.raises(SysctlNameError):
        writer.read("drop_caches")  # refused before the kernel is asked
