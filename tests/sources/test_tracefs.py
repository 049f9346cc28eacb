"""sources.tracefs: the kernel's own GFP table is read where tracefs is, and decodes as ours."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from minfree.model.gfp import TRACEFS_LAYOUT, decode, layout_from_table
from minfree.model.kversion import parse_release
from minfree.sources.root import SystemRoot
from minfree.sources.specs import PAGE_ALLOC_EVENT, TRACEFS_DIRS
from minfree.sources.tracefs import read_event_format
from minfree.tracing.gfp_format import parse_format

# The real format file of this machine's Linux 6.18.44 (tests/fixtures/tracefs).
FORMAT_6_18 = (Path(__file__).resolve().parents[1] / "fixtures" / "tracefs"
               / "mm_page_alloc-6.18.format").read_text()
MODES = (0x820, 0xcc0, 0x2800, 0x140cca, 0x400dc0)   # GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, ...


def _root_with_format(root: Path, directory: str) -> Path:
    path = root / directory / "events" / PAGE_ALLOC_EVENT / "format"
    path.parent.mkdir(parents=True)
    path.write_text(FORMAT_6_18)
    return root


@pytest.mark.parametrize("directory", TRACEFS_DIRS)
def test_format_is_read_from_tracefs_or_its_debugfs_mount(tmp_path: Path, directory: str) -> None:
    assert read_event_format(SystemRoot(_root_with_format(tmp_path, directory))) == FORMAT_6_18


def test_tracefs_mount_point_wins_over_debugfs(tmp_path: Path) -> None:
    _root_with_format(tmp_path, TRACEFS_DIRS[1])
    own = tmp_path / TRACEFS_DIRS[0] / "events" / PAGE_ALLOC_EVENT / "format"
    own.parent.mkdir(parents=True)
    own.write_text("print fmt: first")
    assert read_event_format(SystemRoot(tmp_path)) == "print fmt: first"


def test_no_tracefs_is_none(tmp_path: Path) -> None:
    (tmp_path / TRACEFS_DIRS[0]).mkdir(parents=True)   # the mount point of an unmounted tracefs
    assert read_event_format(SystemRoot(tmp_path)) is None


def test_fixture_table_decodes_as_the_builtin_6_18_table() -> None:
    layout = layout_from_table(parse_format(FORMAT_6_18))
    assert layout is not None
    builtin = parse_release("6.18.44-fc-v1045")
    for mode in MODES:
        own, ours = decode(mode, builtin, layout=layout), decode(mode, builtin)
        assert (own.names, own.bits, own.request_class, own.harder) == \
               (ours.names, ours.bits, ours.request_class, ours.harder), hex(mode)
    atomic = decode(0x820, layout=layout)
    assert atomic.names == ("GFP_ATOMIC",) and atomic.layout == TRACEFS_LAYOUT
    assert decode(0xcc0, layout=layout).names == ("GFP_KERNEL",)


@pytest.mark.live
def test_running_kernel_table_decodes_real_modes_as_the_builtin_table() -> None:
    """This machine's tracefs: GFP_ATOMIC 0x820 and GFP_KERNEL 0xcc0 read the same both ways."""
    text = read_event_format(SystemRoot("/"))
    if text is None:
        pytest.skip("tracefs mm_page_alloc format not readable")
    layout = layout_from_table(parse_format(text))
    assert layout is not None
    kernel = parse_release(os.uname().release)
    assert decode(0x820, kernel, layout=layout).names == decode(0x820, kernel).names == ("GFP_ATOMIC",)
    assert decode(0xcc0, kernel, layout=layout).names == decode(0xcc0, kernel).names == ("GFP_KERNEL",)
    for mode in MODES:
        assert decode(mode, kernel, layout=layout).bits == decode(mode, kernel).bits, hex(mode)
