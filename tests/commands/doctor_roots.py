"""Build system roots for doctor tests from the captured fixtures of this VM (6.18)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"


def make_root(tmp_path: Path) -> Path:
    """A complete root: reader files of the live 6.18 capture plus its memory files."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "proc" / "readers" / "6.18-live", root, symlinks=True)
    memory = FIXTURES / "proc" / "6.18-live"
    for name in ("zoneinfo", "buddyinfo", "pagetypeinfo"):
        shutil.copy(memory / name, root / "proc" / name)
    debug = root / "sys" / "kernel" / "debug" / "extfrag"
    debug.mkdir(parents=True, exist_ok=True)
    for name in ("unusable_index", "extfrag_index"):
        shutil.copy(memory / name, debug / name)
    for name in ("min_free_kbytes", "watermark_scale_factor", "lowmem_reserve_ratio"):
        shutil.copy(memory / name, root / "proc" / "sys" / "vm" / name)
    thp = root / "sys" / "kernel" / "mm" / "transparent_hugepage"
    thp.mkdir(parents=True, exist_ok=True)
    shutil.copy(memory / "thp_enabled", thp / "enabled")
    (thp / "defrag").write_text("always defer defer+madvise [madvise] never\n")
    return root


@pytest.fixture
def fixture_root(tmp_path: Path) -> Path:
    return make_root(tmp_path)
