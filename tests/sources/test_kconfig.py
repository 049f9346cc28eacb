"""sources.kconfig: the running kernel's config from /proc/config.gz, else /boot/config-$(uname -r)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from minfree.model.gfp import GfpConfig
from minfree.model.kversion import parse_release
from minfree.sources.kconfig import read_running_config
from minfree.sources.root import SystemRoot
from minfree.sources.specs import PROC_CONFIG, boot_config
from minfree.sources.tracefs import read_event_format
from minfree.tracing.gfp_format import parse_format

PROC_TEXT = "CONFIG_SLAB_OBJ_EXT=y\n# CONFIG_LOCKDEP is not set\n"
BOOT_TEXT = "CONFIG_LOCKDEP=y\nCONFIG_SLAB_OBJ_EXT=y\n"


def _write(root: Path, relative: str, data: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _boot(root: Path) -> None:
    _write(root, boot_config(os.uname().release).path, BOOT_TEXT.encode())


def test_proc_config_gz_wins(tmp_path: Path) -> None:
    _write(tmp_path, PROC_CONFIG.path, gzip.compress(PROC_TEXT.encode()))
    _boot(tmp_path)
    assert read_running_config(SystemRoot(tmp_path)) == PROC_TEXT


def test_boot_config_of_this_release_without_proc_config(tmp_path: Path) -> None:
    _boot(tmp_path)
    _write(tmp_path, "boot/config-0.0.0-other", b"CONFIG_KASAN_HW_TAGS=y\n")
    text = read_running_config(SystemRoot(tmp_path))
    assert text == BOOT_TEXT and GfpConfig.from_kconfig(text).lockdep


def test_damaged_proc_config_falls_back_to_boot(tmp_path: Path) -> None:
    _write(tmp_path, PROC_CONFIG.path, gzip.compress(PROC_TEXT.encode())[:20])
    _boot(tmp_path)
    assert read_running_config(SystemRoot(tmp_path)) == BOOT_TEXT


def test_no_config_is_none(tmp_path: Path) -> None:
    assert read_running_config(SystemRoot(tmp_path)) is None


@pytest.mark.live
def test_this_machine_config_agrees_with_its_own_gfp_table() -> None:
    """The options read from the config are the ones whose bits the kernel's tracefs table names
    (6.15+ names every bit, config-dependent ones included)."""
    text = read_running_config(SystemRoot("/"))
    table = read_event_format(SystemRoot("/"))
    kernel = parse_release(os.uname().release)
    if text is None or table is None or kernel is None or kernel.base < (6, 15, 0):
        pytest.skip("no kernel config, tracefs not readable, or a kernel before 6.15")
    config = GfpConfig.from_kconfig(text)
    names = {name for name, _ in parse_format(table)}
    assert config.slab_obj_ext == ("__GFP_NO_OBJ_EXT" in names)
    assert config.lockdep == ("__GFP_NOLOCKDEP" in names)
    assert config.kasan_hw_tags == ("__GFP_SKIP_KASAN" in names)
